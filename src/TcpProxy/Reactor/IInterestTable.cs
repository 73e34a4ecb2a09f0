namespace TcpProxy.Reactor;

/// <summary>
/// The reactor's table as a level-triggered backend (poll) reads it before
/// each wait: which directions of a registration are wanted and not already
/// known ready. Watching only those gives the edge contract of
/// <see cref="IPoller"/> on top of level-triggered readiness.
/// </summary>
public interface IInterestTable
{
    /// <summary>
    /// False when <paramref name="token"/> no longer names a live registration
    /// (the fd was removed, or removed and registered anew); otherwise the
    /// directions to watch: <see cref="IoEvents.Readable"/> and/or
    /// <see cref="IoEvents.Writable"/>, or none.
    /// </summary>
    bool TryGetInterest(ulong token, out IoEvents interest);
}
