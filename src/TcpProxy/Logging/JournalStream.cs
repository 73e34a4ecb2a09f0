using System;
using System.Globalization;
using TcpProxy.Interop;

namespace TcpProxy.Logging;

/// <summary>
/// Whether stderr goes to journald. systemd connects a service's stdout and
/// stderr to the journal through a stream socket and sets JOURNAL_STREAM to
/// that socket's "DEV:INODE" (st_dev:st_ino, decimal). The variable is
/// inherited by children whose stderr was redirected elsewhere (a pipe, a
/// file), so it counts only when it names fd 2 itself (systemd.exec(5)).
/// </summary>
public static class JournalStream
{
    private const int StandardErrorFd = 2;

    /// <summary>How the stderr writer stamps its lines: priorities for the journal, the UTC time anywhere else.</summary>
    public static LineStamp StampForStandardError() =>
        Names(Environment.GetEnvironmentVariable("JOURNAL_STREAM"), StandardErrorFd) ? LineStamp.JournalPriority : LineStamp.UtcTime;

    /// <summary>Whether value is "DEV:INODE" and fstat(fd) has exactly that device and inode.</summary>
    public static bool Names(string? value, int fd)
    {
        if (value is null)
            return false;
        int colon = value.IndexOf(':');
        if (colon < 0
            || !ulong.TryParse(value.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out ulong device)
            || !ulong.TryParse(value.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out ulong inode))
            return false;
        // A closed fd 2 (EBADF) is no journal either.
        return Sys.FileIdentity(fd, out ulong actualDevice, out ulong actualInode) == 0
            && actualDevice == device && actualInode == inode;
    }
}
