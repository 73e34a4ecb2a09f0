using System;
using System.Globalization;
using TcpProxy.Interop;

namespace TcpProxy.Proxy;

/// <summary>
/// Binds and listens: the proxy's listening socket before any loop watches it.
/// Without a bind address: IPv6 any with V6ONLY off, so one socket serves
/// IPv4 and IPv6 clients; IPv4 any where IPv6 is absent. With several
/// reactors each has a socket of its own on the same address and port
/// (SO_REUSEPORT): the kernel spreads clients over them.
/// </summary>
internal static class ListeningSocket
{
    /// <summary>A listening fd (getsockname tells the port when 0 was asked for); -1 with a one-line error.</summary>
    public static int Open(string? bindAddress, int port, bool reusePort, out string? error)
    {
        string? resolveError = null;
        SocketAddress[]? candidates = bindAddress is null
            ? WildcardAddresses(port)
            : AddressResolver.Resolve(bindAddress, port, passive: true, out resolveError);
        if (candidates is null || candidates.Length == 0)
        {
            error = "cannot resolve bind address '" + bindAddress + "': " + resolveError;
            return -1;
        }
        return OpenFirst(candidates, port, reusePort, out error);
    }

    /// <summary>Another reactor's socket on exactly the address the first one bound, with SO_REUSEPORT.</summary>
    public static int OpenBeside(in SocketAddress first, out string? error) =>
        OpenFirst([first], first.Port, reusePort: true, out error);

    private static int OpenFirst(SocketAddress[] candidates, int port, bool reusePort, out string? error)
    {
        int lastError = 0;
        foreach (SocketAddress candidate in candidates)
        {
            int fd = Sys.StreamSocket(candidate.Family);
            if (fd < 0)
            {
                lastError = -fd;
                continue;
            }
            int rc = reusePort ? Sys.SetReusePort(fd) : 0;
            if (rc == 0)
                rc = Prepare(fd, candidate);
            if (rc == 0)
            {
                error = null;
                return fd;
            }
            lastError = -rc;
            Sys.Close(fd);
        }
        error = "cannot listen on port " + port.ToString(CultureInfo.InvariantCulture) + ": " + Describe(lastError);
        return -1;
    }

    private static int Prepare(int fd, in SocketAddress address)
    {
        int rc = Sys.SetReuseAddress(fd);
        // Inherited by every accepted client: urgent bytes are forwarded in line.
        if (rc == 0)
            rc = Sys.SetOutOfBandInline(fd);
        if (rc == 0 && address.Family == SocketAddress.AF_INET6)
            rc = Sys.SetIPv6Only(fd, false);
        if (rc == 0)
            rc = Sys.Bind(fd, address);
        if (rc == 0)
            rc = Sys.Listen(fd, 4096);
        return rc;
    }

    private static SocketAddress[] WildcardAddresses(int port)
    {
        SocketAddress[]? v6 = AddressResolver.Resolve("::", port, passive: true, out _);
        SocketAddress[]? v4 = AddressResolver.Resolve("0.0.0.0", port, passive: true, out _);
        if (v6 is null)
            return v4 ?? Array.Empty<SocketAddress>();
        return v4 is null ? v6 : [v6[0], v4[0]];
    }

    private static string Describe(int errno) => errno switch
    {
        Errno.EADDRINUSE => "address already in use (EADDRINUSE)",
        Errno.EACCES => "permission denied (EACCES)",
        Errno.EADDRNOTAVAIL => "address not available on this machine (EADDRNOTAVAIL)",
        _ => Errno.Name(errno),
    };
}
