using TcpProxy.Interop;

namespace TcpProxy.Proxy;

/// <summary>What the listener does when accept fails.</summary>
internal enum AcceptErrorAction
{
    /// <summary>EAGAIN: nobody is waiting; wait for the next edge.</summary>
    Drained,

    /// <summary>That one connection failed; accept the next at once (counted).</summary>
    Retry,

    /// <summary>Out of descriptors or kernel memory: pause accepting, clients wait in the backlog.</summary>
    Pause,

    /// <summary>Unexpected: log it and pause, rather than spin on it.</summary>
    Unexpected,
}

internal static class AcceptErrors
{
    public static AcceptErrorAction Classify(int errno) => errno switch
    {
        Errno.EAGAIN => AcceptErrorAction.Drained,
        // accept(2): Linux passes network errors already pending on the new
        // connection on as accept's own error, and TCP/IP lists these as to be
        // retried like EAGAIN; EPERM is a firewall refusing that one connection.
        Errno.EINTR or Errno.ECONNABORTED or Errno.EPROTO or Errno.ENETDOWN or Errno.ENOPROTOOPT
            or Errno.EHOSTDOWN or Errno.ENONET or Errno.EHOSTUNREACH or Errno.EOPNOTSUPP
            or Errno.ENETUNREACH or Errno.EPERM => AcceptErrorAction.Retry,
        Errno.EMFILE or Errno.ENFILE or Errno.ENOBUFS or Errno.ENOMEM => AcceptErrorAction.Pause,
        _ => AcceptErrorAction.Unexpected,
    };
}
