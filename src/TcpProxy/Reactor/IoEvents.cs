using System;

namespace TcpProxy.Reactor;

/// <summary>The loop's own two readiness bits; backends translate their native flags into these.</summary>
[Flags]
public enum IoEvents : byte
{
    None = 0,
    Readable = 1,
    Writable = 2,
    Both = Readable | Writable,

    /// <summary>
    /// The peer closed or reset (EPOLLRDHUP, EPOLLHUP, EPOLLERR). Sticky: an
    /// EOF that arrived with the data we read raises no further edge, so a
    /// short read may not be taken to mean "drained" once this was seen.
    /// </summary>
    HangUp = 4,

    /// <summary>
    /// Urgent data arrived (EPOLLPRI). A read stops short at the urgent mark
    /// with the rest still queued and no new edge to come, so while this is
    /// set a short read is not "drained": read on to EAGAIN, which clears it.
    /// </summary>
    Urgent = 8,
}
