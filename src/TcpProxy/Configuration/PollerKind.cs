namespace TcpProxy.Configuration;

/// <summary>Which readiness backend the loop uses (--poller).</summary>
public enum PollerKind
{
    /// <summary>The operating system's own: epoll on Linux, kqueue on macOS, poll elsewhere.</summary>
    Auto,
    Epoll,
    Kqueue,
    Poll,
}

public static class PollerKindNames
{
    /// <summary>As --poller takes them and the start-up line shows them.</summary>
    public static readonly EnumNames<PollerKind> All = new(
        (PollerKind.Auto, "auto"), (PollerKind.Epoll, "epoll"), (PollerKind.Kqueue, "kqueue"), (PollerKind.Poll, "poll"));

    public static string Name(this PollerKind kind) => All.NameOf(kind);
}
