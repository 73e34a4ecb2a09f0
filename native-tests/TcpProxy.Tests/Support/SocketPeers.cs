using System;
using System.IO;
using System.Net;
using System.Runtime.InteropServices;

namespace TcpProxy.Tests.Support;

/// <summary>Finds, among this process's descriptors, the socket connected to a given endpoint (for in-process proxies).</summary>
public static unsafe partial class SocketPeers
{
    const int AfInet = 2;

    [LibraryImport("libc", EntryPoint = "getpeername", SetLastError = true)]
    private static partial int GetPeerName(int fd, byte* address, ref uint length);

    /// <summary>The descriptor whose IPv4 peer is <paramref name="peer"/>, or -1.</summary>
    public static int FindConnectedTo(IPEndPoint peer)
    {
        byte* address = stackalloc byte[128];
        foreach (string entry in Directory.GetFileSystemEntries("/proc/self/fd"))
        {
            if (!int.TryParse(Path.GetFileName(entry), out int fd))
                continue;
            uint length = 128;
            if (GetPeerName(fd, address, ref length) != 0 || length < 8 || (address[0] | address[1] << 8) != AfInet)
                continue;
            int port = address[2] << 8 | address[3];
            if (port == peer.Port && new IPAddress(new ReadOnlySpan<byte>(address + 4, 4)).Equals(peer.Address))
                return fd;
        }
        return -1;
    }
}
