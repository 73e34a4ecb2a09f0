using System;
using System.Runtime.InteropServices;
using System.Threading;
using TcpProxy.Interop;
using TcpProxy.Reactor;

namespace TcpProxy.Hosting;

/// <summary>
/// Turns SIGINT/SIGTERM, SIGHUP, SIGUSR1 and SIGUSR2 into events of the loop.
///
/// Preferred (the NativeAOT binary on Linux): a signalfd the reactor watches
/// like any socket — no handler and no thread; Program.Main blocked the
/// signals in every thread first (<see cref="SignalFd"/>). Fallback (a
/// framework-dependent build, an in-process test host, macOS): .NET's
/// PosixSignalRegistration, whose handlers only post to a <see cref="Mailbox"/>
/// the loop watches. That runtime runs SIGHUP/SIGUSR1 handlers on
/// its thread pool, which is why the signalfd comes first.
/// Either way the loop runs the matching action once per signal received.
/// </summary>
public sealed class SignalEvents : IDisposable, IFdHandler
{
    // Delivered in this order when several arrived together: the drain last.
    private const int HangUp = 0;
    private const int UserReport = 1;
    private const int Upgrade = 2;
    private const int Terminate = 3;
    private const int Kinds = 4;

    private readonly Reactor.Reactor _reactor;
    private readonly int _signalFd = -1;
    private readonly Mailbox? _mailbox;
    private readonly PosixSignalRegistration[] _registrations = [];

    private SignalEvents(Reactor.Reactor reactor, int signalFd)
    {
        _reactor = reactor;
        _signalFd = signalFd;
    }

    private SignalEvents(Reactor.Reactor reactor, Mailbox mailbox)
    {
        _reactor = reactor;
        _mailbox = mailbox;
        mailbox.On(HangUp, () => OnHangUp?.Invoke());
        mailbox.On(UserReport, () => OnUserReport?.Invoke());
        mailbox.On(Upgrade, () => OnUpgrade?.Invoke());
        mailbox.On(Terminate, () => OnTerminate?.Invoke());
        _registrations =
        [
            PosixSignalRegistration.Create(PosixSignal.SIGINT, context => OnSignal(context, Terminate)),
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => OnSignal(context, Terminate)),
            PosixSignalRegistration.Create(PosixSignal.SIGHUP, context => OnSignal(context, HangUp)),
            PosixSignalRegistration.Create((PosixSignal)SignalNumbers.SIGUSR1, context => OnSignal(context, UserReport)),
            PosixSignalRegistration.Create((PosixSignal)SignalNumbers.SIGUSR2, context => OnSignal(context, Upgrade)),
        ];
    }

    /// <summary>SIGTERM or SIGINT (the first starts the drain, the second ends it).</summary>
    public Action? OnTerminate { get; set; }

    /// <summary>SIGHUP: reopen the access log.</summary>
    public Action? OnHangUp { get; set; }

    /// <summary>SIGUSR1: report the counters.</summary>
    public Action? OnUserReport { get; set; }

    /// <summary>SIGUSR2: start the binary at our path and hand it the listening sockets.</summary>
    public Action? OnUpgrade { get; set; }

    /// <summary>"signalfd" or "handlers": how signals reach the loop.</summary>
    public string Mechanism => _mailbox is null ? "signalfd" : "handlers";

    /// <summary>Opens the signalfd (or a mailbox and the handlers); null with a message on failure.</summary>
    public static SignalEvents? Install(Reactor.Reactor reactor, out string? error)
    {
        error = null;
        int fd = SignalFd.OpenSignalFd();
        if (fd < 0)
        {
            SignalFd.UnblockInThisThread();
            Mailbox? mailbox = Mailbox.Open(reactor, Kinds, out int errno);
            if (mailbox is null)
                error = "cannot create the signal descriptor: " + Errno.Name(errno);
            return mailbox is null ? null : new SignalEvents(reactor, mailbox);
        }
        var signals = new SignalEvents(reactor, fd);
        int rc = reactor.Add(fd, signals, IoEvents.None);
        if (rc < 0)
        {
            Sys.Close(fd);
            error = "cannot create the signal descriptor: " + Errno.Name(-rc);
            return null;
        }
        reactor.Watch(fd, IoEvents.Readable, true);
        return signals;
    }

    /// <summary>Acts as if SIGTERM arrived; safe from any thread.</summary>
    public void RaiseTerminate()
    {
        if (_mailbox is null)
            SignalFd.SendToThisProcess(SignalNumbers.SIGTERM);
        else
            _mailbox.Post(Terminate);
    }

    private void OnSignal(PosixSignalContext context, int kind)
    {
        // Cancel the default action (process exit, for all five): the loop decides.
        context.Cancel = true;
        _mailbox!.Post(kind);
    }

    public void OnReadable(int fd)
    {
        Span<int> received = stackalloc int[Kinds];
        // Bounded: the kernel keeps one pending instance of each standard signal.
        for (int i = 0; i < 64; i++)
        {
            int signal = SignalFd.ReadSignal(_signalFd);
            if (signal <= 0)
                break;
            received[KindOf(signal)]++;
        }
        _reactor.ClearReady(_signalFd, IoEvents.Readable);
        Deliver(received[HangUp], OnHangUp);
        Deliver(received[UserReport], OnUserReport);
        Deliver(received[Upgrade], OnUpgrade);
        Deliver(received[Terminate], OnTerminate);
    }

    private static int KindOf(int signal) =>
        signal == SignalNumbers.SIGHUP ? HangUp
        : signal == SignalNumbers.SIGUSR1 ? UserReport
        : signal == SignalNumbers.SIGUSR2 ? Upgrade
        : Terminate;

    public void OnWritable(int fd)
    {
    }

    private static void Deliver(int count, Action? action)
    {
        for (; count > 0; count--)
            action?.Invoke();
    }

    public void Dispose()
    {
        foreach (PosixSignalRegistration registration in _registrations)
            registration.Dispose();
        if (_mailbox != null)
        {
            _mailbox.Dispose();
            return;
        }
        _reactor.Remove(_signalFd);
        Sys.Close(_signalFd);
    }
}
