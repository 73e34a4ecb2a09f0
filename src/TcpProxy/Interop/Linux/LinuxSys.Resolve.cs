using System.Collections.Generic;
using System.Globalization;
using System.Runtime.InteropServices;

namespace TcpProxy.Interop.Linux;

internal static unsafe partial class LinuxSys
{
    private const int SOCK_STREAM = 1;

    /// <summary>getaddrinfo for stream sockets; adds every address in order. Null, or the error message.</summary>
    public static string? GetAddresses(string? host, string service, bool passive, List<SocketAddress> into)
    {
        LinuxLibC.AddrInfo hints = default;
        hints.SocketType = SOCK_STREAM;
        hints.Flags = LinuxLibC.AI_NUMERICSERV | (passive ? LinuxLibC.AI_PASSIVE : 0);
        LinuxLibC.AddrInfo* list = null;
        int rc = LinuxLibC.GetAddrInfo(host, service, &hints, &list);
        if (rc != 0)
            return Marshal.PtrToStringUTF8((System.IntPtr)LinuxLibC.GaiStrError(rc)) ?? ("getaddrinfo error " + rc.ToString(CultureInfo.InvariantCulture));
        try
        {
            for (LinuxLibC.AddrInfo* entry = list; entry != null; entry = entry->Next)
                into.Add(SocketAddress.FromNative(entry->Address, (int)entry->AddressLength));
            return null;
        }
        finally
        {
            LinuxLibC.FreeAddrInfo(list);
        }
    }
}
