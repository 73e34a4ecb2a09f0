using System;

namespace TcpProxy.Reactor;

/// <summary>
/// Answers for the callbacks of the fds and timers it registered. When one of
/// them throws, the reactor hands the exception here and goes on with the
/// other fds: the owner gives up what it holds (a pair aborts itself) and
/// says so once. A bug or an allocation failure costs that owner, never the
/// loop or the process.
/// </summary>
public interface IFaultOwner
{
    void OnFault(Exception exception);
}
