using System;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using TcpProxy.Interop;
using TcpProxy.Logging;
using TcpProxy.Reactor;

namespace TcpProxy.Hosting;

/// <summary>
/// sd_notify(3) spoken directly: when systemd set NOTIFY_SOCKET, one datagram
/// per state change goes to that socket — READY=1 once the loops accept,
/// STATUS= every few seconds, RELOADING=1 and READY=1 around a SIGHUP
/// reopen, STOPPING=1 when a drain starts — and, with WATCHDOG_USEC, a
/// WATCHDOG=1 from the loop itself at half the interval, so a stuck loop
/// stops the pings and systemd restarts it. The protocol is one sendto():
/// no libsystemd to load at run time, nothing on macOS (which has no systemd),
/// and it never blocks (a full queue drops the message, as libsystemd would
/// fail it). Runs on loop 0.
/// </summary>
internal sealed class ServiceNotifier : IDisposable
{
    private const long StatusIntervalMs = 5_000;

    private readonly Reactor.Reactor _reactor;
    private readonly Log _log;
    private readonly int _fd;
    private readonly SocketAddress _systemd;
    private readonly Func<string> _status;
    private readonly LoopTimer _statusTimer;
    private readonly LoopTimer? _watchdogTimer;
    private readonly long _watchdogIntervalMs;
    private bool _failureLogged;
    // After a binary upgrade handed the service over, the new process speaks for it.
    private bool _handedOver;

    private ServiceNotifier(Reactor.Reactor reactor, Log log, int fd, SocketAddress systemd, Func<string> status, long watchdogUsec)
    {
        _reactor = reactor;
        _log = log;
        _fd = fd;
        _systemd = systemd;
        _status = status;
        _statusTimer = new LoopTimer(SendStatus);
        if (watchdogUsec > 0)
        {
            _watchdogIntervalMs = Math.Max(1, watchdogUsec / 2_000);
            _watchdogTimer = new LoopTimer(Ping);
        }
    }

    /// <summary>The notifier systemd asked for, or null when NOTIFY_SOCKET is unset (not under systemd) or unusable (logged).</summary>
    public static ServiceNotifier? FromEnvironment(Reactor.Reactor reactor, Log log, Func<string> status)
    {
        if (Environment.GetEnvironmentVariable("NOTIFY_SOCKET") is not { Length: > 0 } path)
            return null;
        if (SocketAddress.ForUnixPath(path) is not SocketAddress systemd)
        {
            log.Warning("NOTIFY_SOCKET is not a socket path this proxy can use; not notifying systemd");
            return null;
        }
        int fd = Sys.UnixDatagramSocket();
        if (fd < 0)
        {
            log.Warning("cannot create a socket to notify systemd: " + Errno.Name(-fd));
            return null;
        }
        return new ServiceNotifier(reactor, log, fd, systemd, status, WatchdogUsec());
    }

    // WATCHDOG_USEC applies to this process only when WATCHDOG_PID, if set, names it.
    private static long WatchdogUsec()
    {
        string? pid = Environment.GetEnvironmentVariable("WATCHDOG_PID");
        if (pid != null && pid != Environment.ProcessId.ToString(CultureInfo.InvariantCulture))
            return 0;
        return long.TryParse(Environment.GetEnvironmentVariable("WATCHDOG_USEC"), NumberStyles.None, CultureInfo.InvariantCulture, out long usec) ? usec : 0;
    }

    /// <summary>How often the loop pings the watchdog; 0 without one.</summary>
    public long WatchdogIntervalMs => _watchdogIntervalMs;

    /// <summary>
    /// On loop 0's first turn: every loop has its listening socket, so the service is up.
    /// A process started by a binary upgrade also names itself the main process
    /// (accepted by systemd with NotifyAccess=all; the old process says it too).
    /// </summary>
    public void Ready(bool upgraded)
    {
        Send((upgraded ? "MAINPID=" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "\n" : "")
            + "READY=1\nSTATUS=" + _status());
        _reactor.Timers.Arm(_statusTimer, _reactor.NowMs + StatusIntervalMs);
        if (_watchdogTimer != null)
            Ping();
    }

    /// <summary>Around a SIGHUP reopen; MONOTONIC_USEC lets systemd pair it with its own reload request.</summary>
    public void Reloading() => Send("RELOADING=1\nMONOTONIC_USEC=" + MonotonicUsec().ToString(CultureInfo.InvariantCulture));

    public void Reloaded() => Send("READY=1");

    /// <summary>A drain began: systemd waits for the exit instead of killing at once.</summary>
    public void Stopping() => Send("STOPPING=1\nSTATUS=draining: " + _status());

    /// <summary>
    /// A binary upgrade succeeded: <paramref name="pid"/> is the service's main process
    /// from now on (systemd accepts that from the current one), and this one falls
    /// silent — no STATUS, watchdog or STOPPING of a process that is only draining.
    /// </summary>
    public void HandOver(int pid)
    {
        Send("MAINPID=" + pid.ToString(CultureInfo.InvariantCulture));
        _handedOver = true;
        _reactor.Timers.Cancel(_statusTimer);
        if (_watchdogTimer != null)
            _reactor.Timers.Cancel(_watchdogTimer);
    }

    private void SendStatus()
    {
        Send("STATUS=" + _status());
        _reactor.Timers.Arm(_statusTimer, _reactor.NowMs + StatusIntervalMs);
    }

    private void Ping()
    {
        Send("WATCHDOG=1");
        _reactor.Timers.Arm(_watchdogTimer!, _reactor.NowMs + _watchdogIntervalMs);
    }

    private void Send(string message)
    {
        if (_handedOver)
            return;
        long rc = Sys.SendTo(_fd, _systemd, Encoding.UTF8.GetBytes(message));
        if (rc >= 0 || _failureLogged)
            return;
        // Once: systemd gone or its queue full is nothing the proxy can mend.
        _failureLogged = true;
        _log.Warning("cannot notify systemd: " + Errno.Name((int)-rc));
    }

    private static long MonotonicUsec() => Stopwatch.GetTimestamp() / (Stopwatch.Frequency / 1_000_000);

    public void Dispose()
    {
        _reactor.Timers.Cancel(_statusTimer);
        if (_watchdogTimer != null)
            _reactor.Timers.Cancel(_watchdogTimer);
        Sys.Close(_fd);
    }
}
