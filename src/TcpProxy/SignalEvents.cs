using System;
using System.Runtime.InteropServices;
using System.Threading;
using TcpProxy.Interop;
using TcpProxy.Reactor;

namespace TcpProxy;

/// <summary>
/// Turns SIGINT/SIGTERM, SIGHUP and SIGUSR1 into events of the loop. The
/// runtime runs PosixSignalRegistration handlers on a thread of their own, so
/// a handler only counts its signal and writes an eventfd that the reactor
/// watches; the loop then runs the matching action, once per signal received.
/// </summary>
public sealed class SignalEvents : IDisposable
{
    private const int Terminate = 0;
    private const int HangUp = 1;
    private const int UserReport = 2;

    private readonly Reactor.Reactor _reactor;
    private readonly int _eventFd;
    private readonly int[] _received = new int[3];
    private readonly PosixSignalRegistration[] _registrations;

    private SignalEvents(Reactor.Reactor reactor, int eventFd)
    {
        _reactor = reactor;
        _eventFd = eventFd;
        _registrations =
        [
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

    /// <summary>Creates the eventfd and installs the handlers; null with a message on failure.</summary>
    public static SignalEvents? Install(Reactor.Reactor reactor, out string? error)
    {
        int fd = Sys.EventFd();
        int rc = fd < 0 ? fd : reactor.Add(fd, IoEvents.None);
        if (rc < 0)
        {
            if (fd >= 0)
                Sys.Close(fd);
            error = "cannot create the signal eventfd: " + Errno.Name(-rc);
            return null;
        }
        error = null;
        var signals = new SignalEvents(reactor, fd);
        reactor.SetCallback(fd, IoEvents.Readable, signals.OnEventFd);
        return signals;
    }

    /// <summary>Acts as if SIGTERM arrived; safe from any thread.</summary>
    public void RaiseTerminate() => Raise(Terminate);

    private void Raise(int kind)
    {
        Interlocked.Increment(ref _received[kind]);
        Sys.EventFdSignal(_eventFd);
    }

    private void OnSignal(PosixSignalContext context, int kind)
    {
        // Cancel the default action (process exit, for all four): the loop decides.
        context.Cancel = true;
        Raise(kind);
    }

    private void OnEventFd()
    {
        Sys.EventFdDrain(_eventFd);
        _reactor.ClearReady(_eventFd, IoEvents.Readable);
        Deliver(HangUp, OnHangUp);
        Deliver(UserReport, OnUserReport);
        Deliver(Terminate, OnTerminate);
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
        _reactor.Remove(_eventFd);
        Sys.Close(_eventFd);
    }
}
