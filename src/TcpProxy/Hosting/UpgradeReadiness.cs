using System;
using System.Globalization;
using TcpProxy.Interop;
using TcpProxy.Logging;

namespace TcpProxy.Hosting;

/// <summary>
/// The new process's half of a binary upgrade: the write end of the pipe the
/// process it replaces is waiting on (<see cref="BinaryUpgrade"/>). One byte
/// written once every loop accepts tells that process to stop accepting and drain.
/// </summary>
internal sealed class UpgradeReadiness
{
    private readonly int _fd;

    private UpgradeReadiness(int fd) => _fd = fd;

    /// <summary>The pipe named by the hand-over, or null when this process was not started by an upgrade.</summary>
    public static UpgradeReadiness? FromEnvironment(SocketActivation? passed)
    {
        string? value = Environment.GetEnvironmentVariable(BinaryUpgrade.ReadyFdVariable);
        // Hygiene: nothing this process starts later may mistake the hand-over for its own.
        foreach (string name in BinaryUpgrade.HandOverVariables)
            Environment.SetEnvironmentVariable(name, null);
        if (passed is not { FromUpgrade: true } || !int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int fd) || fd < 3)
            return null;
        return new UpgradeReadiness(fd);
    }

    /// <summary>On loop 0's first turn: every loop has its listening socket.</summary>
    public unsafe void Tell(Log log)
    {
        byte ready = (byte)'1';
        long rc = Sys.Write(_fd, &ready, 1);
        Sys.Close(_fd);
        // EPIPE: the old process is gone already; there is no one left to hand over from.
        if (rc < 0)
            log.Warning("upgrade: cannot tell the old process that this one accepts: " + Errno.Name((int)-rc));
    }
}
