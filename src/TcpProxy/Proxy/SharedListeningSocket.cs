using System.Threading;

namespace TcpProxy.Proxy;

/// <summary>
/// A listening socket that was passed, not bound: with one passed and
/// --reactors N, every loop watches it in its own poller and the last
/// to stop closes it. Every loop is woken for each new client and one wins
/// the accept, where SO_REUSEPORT would have the kernel hand each client to
/// one loop's socket.
/// </summary>
internal sealed class SharedListeningSocket
{
    private int _users;

    public SharedListeningSocket(int fd, int users)
    {
        Fd = fd;
        _users = users;
    }

    public int Fd { get; }

    /// <summary>One loop is done with it; true for the last, which closes it.</summary>
    public bool Leave() => Interlocked.Decrement(ref _users) == 0;
}
