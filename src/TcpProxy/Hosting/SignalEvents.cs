using System;
using System.Runtime.InteropServices;
using System.Threading;
using TcpProxy.Interop;
using TcpProxy.Reactor;

namespace TcpProxy.Hosting;

/// <summary>
/// Turns SIGINT/SIGTERM, SIGHUP and SIGUSR1 into events of the loop.
///
/// Preferred (the NativeAOT binary on Linux): a signalfd the reactor watches
/// like any socket — no handler and no thread; Program.Main blocked the
/// signals in every thread first (<see cref="SignalMask"/>). Fallback (a
/// framework-dependent build, an in-process test host, macOS): .NET's
/// PosixSignalRegistration, whose handlers only count the signal and write an
/// eventfd the loop watches. That runtime runs SIGHUP/SIGUSR1 handlers on
/// its thread pool, which is why the signalfd comes first.
/// Either way the loop runs the matching action once per signal received.
/// </summary>
public sealed class SignalEvents : IDisposable
{
    private const int Terminate = 0;
    private const int HangUp = 1;
    private const int UserReport = 2;

    private readonly Reactor.Reactor _reactor;
    private readonly int _fd;
    private readonly bool _isSignalFd;
    private readonly int[] _received = new int[3];
    private readonly PosixSignalRegistration[] _registrations;

    private SignalEvents(Reactor.Reactor reactor, int fd, bool isSignalFd)
    {
        _reactor = reactor;
        _fd = fd;
        _isSignalFd = isSignalFd;
        _registrations = isSignalFd
            ? []
            : [
                PosixSignalRegistration.Create(PosixSignal.SIGINT, context => OnSignal(context, Terminate)),
                PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => OnSignal(context, Terminate)),
                PosixSignalRegistration.Create(PosixSignal.SIGHUP, context => OnSignal(context, HangUp)),
                PosixSignalRegistration.Create((PosixSignal)SignalNumbers.SIGUSR1, context => OnSignal(context, UserReport)),
            ];
    }

    /// <summary>SIGTERM or SIGINT (the first starts the drain, the second ends it).</summary>
    public Action? OnTerminate { get; set; }

    /// <summary>SIGHUP: reopen the access log.</summary>
    public Action? OnHangUp { get; set; }

    /// <summary>SIGUSR1: report the counters.</summary>
    public Action? OnUserReport { get; set; }

    /// <summary>"signalfd" or "handlers": how signals reach the loop.</summary>
    public string Mechanism => _isSignalFd ? "signalfd" : "handlers";

    /// <summary>Opens the signalfd (or the eventfd and the handlers); null with a message on failure.</summary>
    public static SignalEvents? Install(Reactor.Reactor reactor, out string? error)
    {
        int fd = SignalMask.OpenSignalFd();
        bool isSignalFd = fd >= 0;
        if (!isSignalFd)
            fd = Sys.EventFd();
        int rc = fd < 0 ? fd : reactor.Add(fd, IoEvents.None);
        if (rc < 0)
        {
            if (fd >= 0)
                Sys.Close(fd);
            error = "cannot create the signal descriptor: " + Errno.Name(-rc);
            return null;
        }
        error = null;
        var signals = new SignalEvents(reactor, fd, isSignalFd);
        reactor.SetCallback(fd, IoEvents.Readable, signals.OnReadable);
        return signals;
    }

    /// <summary>Acts as if SIGTERM arrived; safe from any thread.</summary>
    public void RaiseTerminate()
    {
        if (_isSignalFd)
            SignalMask.SendToThisProcess(SignalMask.SIGTERM);
        else
            Raise(Terminate);
    }

    private void Raise(int kind)
    {
        Interlocked.Increment(ref _received[kind]);
        Sys.EventFdSignal(_fd);
    }

    private void OnSignal(PosixSignalContext context, int kind)
    {
        // Cancel the default action (process exit, for all four): the loop decides.
        context.Cancel = true;
        Raise(kind);
    }

    private void OnReadable()
    {
        if (_isSignalFd)
            ReadSignalFd();
        else
            Sys.EventFdDrain(_fd);
        _reactor.ClearReady(_fd, IoEvents.Readable);
        Deliver(HangUp, OnHangUp);
        Deliver(UserReport, OnUserReport);
        Deliver(Terminate, OnTerminate);
    }

    private void ReadSignalFd()
    {
        // Bounded: the kernel keeps one pending instance of each standard signal.
        for (int i = 0; i < 64; i++)
        {
            int signal = SignalMask.ReadSignal(_fd);
            if (signal <= 0)
                return;
            int kind = signal switch
            {
                SignalMask.SIGHUP => HangUp,
                SignalMask.SIGUSR1 => UserReport,
                _ => Terminate,
            };
            Interlocked.Increment(ref _received[kind]);
        }
    }

    private void Deliver(int kind, Action? action)
    {
        for (int count = Interlocked.Exchange(ref _received[kind], 0); count > 0; count--)
            action?.Invoke();
    }

    public void Dispose()
    {
        foreach (PosixSignalRegistration registration in _registrations)
            registration.Dispose();
        _reactor.Remove(_fd);
        Sys.Close(_fd);
    }
}
