using TcpProxy.Configuration;
using TcpProxy.Interop;

namespace TcpProxy.Reactor;

/// <summary>Makes the backend asked for; the only place that knows which backends exist.</summary>
public static class PollerFactory
{
    /// <summary>Whether this operating system has the backend (poll: every Unix).</summary>
    public static bool IsAvailable(PollerKind kind) => kind switch
    {
        PollerKind.Epoll => Sys.HasEpoll,
        PollerKind.Kqueue => Sys.HasKqueue,
        _ => true,
    };

    /// <summary>
    /// Why the backend is missing, beyond the operating system: "" or " (LIBKQUEUE=... cannot be loaded)".
    /// kqueue on Linux is libkqueue's when $LIBKQUEUE names it, a testing aid (docs/kqueue-libkqueue.md).
    /// </summary>
    public static string UnavailableDetail(PollerKind kind) =>
        kind == PollerKind.Kqueue && Sys.KqueueProblem is string problem ? " (" + problem + ")" : "";

    /// <summary>"Linux", "macOS"...: where a backend is or is not available, for messages.</summary>
    public static string OperatingSystemName => Sys.OperatingSystemName;

    /// <summary>What <see cref="PollerKind.Auto"/> means here: epoll on Linux, kqueue on macOS, else poll.</summary>
    public static PollerKind Resolve(PollerKind kind) =>
        kind != PollerKind.Auto ? kind : Sys.HasEpoll ? PollerKind.Epoll : Sys.HasKqueue ? PollerKind.Kqueue : PollerKind.Poll;

    /// <summary>The backend's lower-case name, as --poller takes it.</summary>
    public static string NameOf(PollerKind kind) => kind.Name();

    /// <summary>Creates the backend, or returns null with a one-line reason.</summary>
    public static IPoller? Create(PollerKind kind, out string? error)
    {
        kind = Resolve(kind);
        if (!IsAvailable(kind))
        {
            error = NameOf(kind) + " is not available on " + OperatingSystemName + UnavailableDetail(kind);
            return null;
        }
        int errno = 0;
        IPoller? poller = kind switch
        {
            PollerKind.Epoll => EpollPoller.Create(out errno),
            PollerKind.Kqueue => KqueuePoller.Create(out errno),
            _ => new PollPoller(),
        };
        error = poller is null ? "cannot create the " + NameOf(kind) + " instance: " + Errno.Name(errno) : null;
        return poller;
    }
}
