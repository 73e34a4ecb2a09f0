using System;
using System.IO;
using System.Net.Sockets;
using System.Text;

namespace TcpProxy.Tests.Support;

/// <summary>A test's own systemd: the datagram socket NOTIFY_SOCKET names, read message by message.</summary>
public sealed class NotifySocket : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);

    public NotifySocket()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"tcpproxy-notify-{Guid.NewGuid():N}.sock");
        _socket.Bind(new UnixDomainSocketEndPoint(Path));
    }

    public string Path { get; }

    /// <summary>The launcher that runs the proxy under this socket, with more variables if given.</summary>
    public string[] Launcher(params string[] variables)
    {
        var launcher = new string[2 + variables.Length];
        launcher[0] = "env";
        launcher[1] = "NOTIFY_SOCKET=" + Path;
        variables.CopyTo(launcher, 2);
        return launcher;
    }

    /// <summary>The next message, or null if none came within the limit.</summary>
    public string? Receive(TimeSpan limit)
    {
        _socket.ReceiveTimeout = Math.Max(1, (int)limit.TotalMilliseconds);
        var buffer = new byte[4096];
        try
        {
            int n = _socket.Receive(buffer);
            return Encoding.UTF8.GetString(buffer, 0, n);
        }
        catch (SocketException e) when (e.SocketErrorCode == SocketError.TimedOut || e.SocketErrorCode == SocketError.WouldBlock)
        {
            return null;
        }
    }

    /// <summary>The next message that starts with <paramref name="prefix"/>, skipping others (periodic STATUS=, WATCHDOG=1); null if none came in time.</summary>
    public string? ReceiveStartingWith(string prefix, TimeSpan limit)
    {
        DateTime deadline = DateTime.UtcNow + limit;
        for (TimeSpan left = limit; left > TimeSpan.Zero; left = deadline - DateTime.UtcNow)
        {
            string? message = Receive(left);
            if (message is null)
                return null;
            if (message.StartsWith(prefix, StringComparison.Ordinal))
                return message;
        }
        return null;
    }

    public void Dispose()
    {
        _socket.Dispose();
        File.Delete(Path);
    }
}
