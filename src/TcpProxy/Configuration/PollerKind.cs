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
