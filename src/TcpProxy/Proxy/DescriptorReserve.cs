using TcpProxy.Interop;

namespace TcpProxy.Proxy;

/// <summary>
/// One spare descriptor (<see cref="Sys.SpareDescriptor"/>) held while the listener accepts, so a
/// client it accepts can always get its server socket: when socket() fails
/// with EMFILE the connector releases the spare and tries again, and the
/// listener accepts no more until it holds a spare again. Clients therefore
/// wait in the backlog at the descriptor limit instead of being accepted only
/// to be reset — whatever the parity of the limit.
/// </summary>
internal sealed class DescriptorReserve
{
    private int _fd = -1;

    public bool IsHeld => _fd >= 0;

    /// <summary>Holds a spare descriptor if there is one free; true when one is held.</summary>
    public bool TryAcquire()
    {
        if (_fd >= 0)
            return true;
        int fd = Sys.SpareDescriptor();
        if (fd < 0)
            return false;
        _fd = fd;
        return true;
    }

    /// <summary>Frees the spare for the caller's next call; false if none was held.</summary>
    public bool Release()
    {
        if (_fd < 0)
            return false;
        Sys.Close(_fd);
        _fd = -1;
        return true;
    }
}
