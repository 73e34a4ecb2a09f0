using System;
using System.Collections.Generic;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace TcpProxy.Tests.Support;

/// <summary>One HTTP response, read to the server's close.</summary>
public sealed record HttpReply(int Status, IReadOnlyDictionary<string, string> Headers, string Body)
{
    /// <summary>The value of an unlabelled sample, or of one with the given label (Prometheus text format).</summary>
    public double Sample(string name, string? label = null)
    {
        string prefix = label is null ? name + " " : name + "{" + label + "} ";
        foreach (string line in Body.Split('\n'))
        {
            if (line.StartsWith(prefix, StringComparison.Ordinal))
                return double.Parse(line[prefix.Length..], CultureInfo.InvariantCulture);
        }
        throw new KeyNotFoundException($"no sample '{prefix.Trim()}' in:\n{Body}");
    }
}

/// <summary>A bare HTTP/1.1 client over a socket: sends bytes as given, reads the reply until EOF.</summary>
public static class HttpScrape
{
    public static HttpReply Get(int port, string path = "/metrics") =>
        Send(port, $"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: tcpproxy-tests\r\n\r\n");

    public static HttpReply Send(int port, string request)
    {
        using var socket = SocketIo.Connect(IPAddress.Loopback, port);
        SocketIo.SendAll(socket, Encoding.ASCII.GetBytes(request));
        return Read(socket);
    }

    public static HttpReply Read(Socket socket)
    {
        var data = new List<byte>();
        var buffer = new byte[16 * 1024];
        while (true)
        {
            int n = socket.Receive(buffer);
            if (n == 0) break;
            data.AddRange(buffer.AsSpan(0, n).ToArray());
        }
        string text = Encoding.UTF8.GetString(data.ToArray());
        int headEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (headEnd < 0) throw new FormatException("no complete HTTP head in: " + text);
        string[] lines = text[..headEnd].Split("\r\n");
        string[] statusLine = lines[0].Split(' ', 3);
        if (statusLine.Length < 2 || !statusLine[0].StartsWith("HTTP/1.", StringComparison.Ordinal))
            throw new FormatException("not an HTTP status line: " + lines[0]);
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (string line in lines[1..])
        {
            int colon = line.IndexOf(':');
            headers[line[..colon]] = line[(colon + 1)..].Trim();
        }
        return new HttpReply(int.Parse(statusLine[1], CultureInfo.InvariantCulture), headers, text[(headEnd + 4)..]);
    }
}
