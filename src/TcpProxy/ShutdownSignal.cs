using System;
using System.Runtime.InteropServices;
using TcpProxy.Interop;
using TcpProxy.Reactor;

namespace TcpProxy;

/// <summary>
/// Turns SIGINT/SIGTERM into an event of the loop. The runtime runs
/// PosixSignalRegistration handlers on a thread of their own, so the handler
/// only writes to an eventfd that the reactor watches; the loop stops itself.
/// </summary>
public sealed class ShutdownSignal : IDisposable
{
    private readonly Reactor.Reactor _reactor;
    private readonly int _eventFd;
    private readonly PosixSignalRegistration[] _registrations;

    private ShutdownSignal(Reactor.Reactor reactor, int eventFd)
    {
        _reactor = reactor;
        _eventFd = eventFd;
        _registrations =
        [
            PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal),
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal),
        ];
    }

    /// <summary>Creates the eventfd and installs the handlers; null with a message on failure.</summary>
    public static ShutdownSignal? Install(Reactor.Reactor reactor, out string? error)
    {
        int fd = Sys.EventFd();
        int rc = fd < 0 ? fd : reactor.Add(fd, IoEvents.None);
        if (rc < 0)
        {
            if (fd >= 0)
                Sys.Close(fd);
            error = "cannot create the shutdown eventfd: " + Errno.Name(-rc);
            return null;
        }
        error = null;
        var signal = new ShutdownSignal(reactor, fd);
        reactor.SetCallback(fd, IoEvents.Readable, signal.OnEventFd);
        return signal;
    }

    /// <summary>Asks the loop to stop, from any thread (what a signal does).</summary>
    public void Trigger() => Sys.EventFdSignal(_eventFd);

    private void OnSignal(PosixSignalContext context)
    {
        // Cancel the default action (process exit): the loop ends and Main returns 0.
        context.Cancel = true;
        Trigger();
    }

    private void OnEventFd()
    {
        Sys.EventFdDrain(_eventFd);
        _reactor.ClearReady(_eventFd, IoEvents.Readable);
        _reactor.Stop();
    }

    public void Dispose()
    {
        foreach (PosixSignalRegistration registration in _registrations)
            registration.Dispose();
        _reactor.Remove(_eventFd);
        Sys.Close(_eventFd);
    }
}
