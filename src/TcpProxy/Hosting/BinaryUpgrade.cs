using System;
using System.Collections;
using System.Collections.Generic;
using System.Globalization;
using TcpProxy.Interop;
using TcpProxy.Logging;
using TcpProxy.Reactor;

namespace TcpProxy.Hosting;

/// <summary>
/// SIGUSR2, nginx's convention: start the binary at the path this process was
/// run from, same arguments, handing it the listening sockets themselves
/// (descriptors 3, 4, ... as <see cref="SocketActivation"/> reads them) and
/// the write end of a pipe. The new process writes one byte there once every
/// loop accepts; only then does this one stop accepting and drain, so no port
/// is ever closed and no queued client is lost (both processes accept from the
/// same queues meanwhile). If the new process exits, closes the pipe, or is
/// not accepting within --upgrade-timeout, it is killed if still running, one
/// line says why, and this process serves on as if nothing had happened.
/// Runs on loop 0.
/// </summary>
internal sealed class BinaryUpgrade : IFdHandler
{
    public const string ReadyFdVariable = "TCPPROXY_UPGRADE_READY_FD";

    /// <summary>What describes the sockets a process was handed: read once at start-up, never passed on as it is.</summary>
    public static readonly string[] HandOverVariables =
        ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", SocketActivation.UpgradeFromVariable, ReadyFdVariable];

    // A failed new process is looked for among the ended this often; one that closed the pipe
    // yet runs on is killed after KillAfterPolls, and the wait ends after MaxPolls in any case.
    private const long ReapPollMs = 20;
    private const int KillAfterPolls = 50;
    private const int MaxPolls = 250;

    private readonly Reactor.Reactor _reactor;
    private readonly Log _log;
    private readonly ProgramCommand? _command;
    private readonly long _timeoutMs;
    private readonly Func<(int Fd, string Name)[]> _sockets;
    private readonly Action<int> _onReady;
    private readonly LoopTimer _deadline;
    private readonly LoopTimer _reaper;
    private int _pid = -1;
    private int _readyFd = -1;
    private int _reapPolls;
    private bool _killed;
    private string? _failure;

    /// <param name="sockets">The listening sockets to hand over, each with its LISTEN_FDNAMES name.</param>
    /// <param name="onReady">Called on the loop with the new pid once it accepts: the caller drains.</param>
    public BinaryUpgrade(Reactor.Reactor reactor, Log log, ProgramCommand? command, TimeSpan timeout,
        Func<(int Fd, string Name)[]> sockets, Action<int> onReady)
    {
        _reactor = reactor;
        _log = log;
        _command = command;
        _timeoutMs = (long)timeout.TotalMilliseconds;
        _sockets = sockets;
        _onReady = onReady;
        _deadline = new LoopTimer(NotReadyInTime);
        _reaper = new LoopTimer(Reap);
    }

    /// <summary>From SIGUSR2 until the new process accepts, or until a failed one has been reaped.</summary>
    public bool InProgress => _pid >= 0;

    private bool Waiting => _readyFd >= 0;

    /// <summary>SIGUSR2 (the caller has checked that no drain is under way).</summary>
    public void Start()
    {
        if (InProgress)
        {
            _log.Info("SIGUSR2: an upgrade to pid " + Number(_pid) + " is already under way; ignored");
            return;
        }
        if (_command is null || !Platform.IsLinux)
        {
            _log.Error("SIGUSR2: binary upgrade is not supported " + (_command is null ? "in this host" : "on " + Platform.Name) + "; still serving");
            return;
        }
        int rc = Sys.CreatePipe(out int readFd, out int writeFd);
        if (rc < 0)
        {
            _log.Error("upgrade failed: cannot create its pipe: " + Errno.Name(-rc) + "; still serving");
            return;
        }
        (int Fd, string Name)[] sockets = _sockets();
        Span<int> inherited = stackalloc int[sockets.Length + 1];
        for (int i = 0; i < sockets.Length; i++)
            inherited[i] = sockets[i].Fd;
        inherited[sockets.Length] = writeFd;
        rc = Sys.Spawn(_command.Path, _command.Arguments, Environment(sockets), inherited, out int pid);
        Sys.Close(writeFd);
        if (rc < 0 || (rc = _reactor.Add(readFd, this, IoEvents.None)) < 0)
        {
            Sys.Close(readFd);
            if (pid > 0)
                Sys.Kill(pid, SignalNumbers.SIGKILL);
            _log.Error("upgrade failed: cannot start " + _command.Path + ": " + Errno.Name(-rc) + "; still serving");
            return;
        }
        _pid = pid;
        _readyFd = readFd;
        _failure = null;
        _reactor.Watch(readFd, IoEvents.Readable, true);
        _reactor.Timers.Arm(_deadline, _reactor.NowMs + _timeoutMs);
        _log.Info("SIGUSR2: started " + _command.Path + " as pid " + Number(pid) + " with " + Number(sockets.Length)
            + " listening socket" + (sockets.Length == 1 ? "" : "s") + "; serving on until it accepts (at most "
            + (_timeoutMs / 1000.0).ToString("0.###", CultureInfo.InvariantCulture) + " s)");
    }

    // This process's environment for the new one, less what described our own start, plus the hand-over.
    private static string[] Environment((int Fd, string Name)[] sockets)
    {
        var variables = new List<string>();
        foreach (DictionaryEntry variable in System.Environment.GetEnvironmentVariables())
        {
            string name = (string)variable.Key;
            // WATCHDOG_PID names this process: the new one pings for itself.
            if (Array.IndexOf(HandOverVariables, name) < 0 && name != "WATCHDOG_PID")
                variables.Add(name + "=" + (string?)variable.Value);
        }
        var names = new string[sockets.Length];
        for (int i = 0; i < sockets.Length; i++)
            names[i] = sockets[i].Name;
        variables.Add("LISTEN_FDS=" + Number(sockets.Length));
        variables.Add("LISTEN_FDNAMES=" + string.Join(':', names));
        variables.Add(SocketActivation.UpgradeFromVariable + "=" + Number(System.Environment.ProcessId));
        variables.Add(ReadyFdVariable + "=" + Number(3 + sockets.Length));
        return variables.ToArray();
    }

    /// <summary>A SIGTERM while the new process starts: this one drains, so the new one must not serve.</summary>
    public void Abandon(string why)
    {
        if (Waiting)
            Fail(why + " arrived before it accepted; killed it", kill: true);
    }

    public unsafe void OnReadable(int fd)
    {
        byte ready;
        long n = Sys.ReadPipe(fd, &ready, 1);
        if (n == -Errno.EAGAIN)
        {
            _reactor.ClearReady(fd, IoEvents.Readable);
            return;
        }
        if (n == 1)
        {
            int pid = _pid;
            StopWaiting();
            _pid = -1;
            _log.Info("upgrade: pid " + Number(pid) + " accepts; this process (pid " + Number(System.Environment.ProcessId)
                + ") stops accepting and drains");
            _onReady(pid);
            return;
        }
        Fail(n == 0 ? "closed its readiness pipe before accepting" : "its readiness pipe failed: " + Errno.Name((int)-n), kill: false);
    }

    public void OnWritable(int fd)
    {
    }

    private void NotReadyInTime() =>
        Fail("was not accepting after " + (_timeoutMs / 1000.0).ToString("0.###", CultureInfo.InvariantCulture) + " s; killed it", kill: true);

    // The one line is written once the new process has ended (no zombie left), with how it ended.
    private void Fail(string why, bool kill)
    {
        StopWaiting();
        _failure = why;
        _killed = kill;
        if (kill)
            Sys.Kill(_pid, SignalNumbers.SIGKILL);
        _reapPolls = 0;
        Reap();
    }

    private void Reap()
    {
        int rc = Sys.WaitNoHang(_pid, out int status);
        _reapPolls++;
        if (rc == 0 && !_killed && _reapPolls > KillAfterPolls)
        {
            Sys.Kill(_pid, SignalNumbers.SIGKILL);
            _killed = true;
            _failure += " yet ran on; killed it";
        }
        if (rc == 0 && _reapPolls < MaxPolls)
        {
            _reactor.Timers.Arm(_reaper, _reactor.NowMs + ReapPollMs);
            return;
        }
        // How it ended says something only when it ended by itself.
        string how = rc > 0 && !_killed ? " and " + Sys.DescribeExit(status) : "";
        _log.Error("upgrade failed: " + _command!.Path + " (pid " + Number(_pid) + ") " + _failure + how + "; still serving");
        _pid = -1;
    }

    private void StopWaiting()
    {
        _reactor.Timers.Cancel(_deadline);
        _reactor.Remove(_readyFd);
        Sys.Close(_readyFd);
        _readyFd = -1;
    }

    private static string Number(int value) => value.ToString(CultureInfo.InvariantCulture);
}
