using System;

namespace TcpProxy.Reactor;

/// <summary>One readiness report: the token given at registration and what became ready.</summary>
public struct PollEvent
{
    public ulong Token;
    public IoEvents Events;
}

/// <summary>
/// A readiness backend (epoll, kqueue, poll), in the shape of Redis ae's
/// aeApi*: register, unregister, wait, name — nothing else.
/// Contract: registration is edge-triggered for both directions. A backend
/// reports an fd again only after new readiness arrives, so the reactor keeps
/// the "still ready" state itself. Errors and hang-ups are reported as both
/// bits, so the next read or write returns the real error, plus HangUp;
/// urgent data as Readable plus Urgent.
/// </summary>
public interface IPoller : IDisposable
{
    string Name { get; }

    /// <summary>
    /// Called once by the reactor that owns this poller. A backend that builds
    /// its wait set from the loop's table each time (poll) keeps it; kernels
    /// that remember registrations themselves (epoll, kqueue) need nothing.
    /// </summary>
    void Attach(IInterestTable table)
    {
    }

    /// <summary>Watches fd for both directions; token comes back in its events. Returns 0 or -errno.</summary>
    int Register(int fd, ulong token);

    /// <summary>Stops watching fd. Closing the fd does this implicitly. Returns 0 or -errno.</summary>
    int Unregister(int fd);

    /// <summary>
    /// fd is about to be closed. Kernels forget a closed fd themselves, so
    /// this is nothing, except for a backend that must be told (libkqueue).
    /// </summary>
    void Forget(int fd)
    {
    }

    /// <summary>Waits up to timeoutMs (-1: forever) and fills events; returns the count, 0 on timeout or EINTR, or -errno.</summary>
    int Wait(Span<PollEvent> events, int timeoutMs);
}
