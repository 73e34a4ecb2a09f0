using System;
using System.Globalization;
using System.Text;

namespace TcpProxy.Metrics;

/// <summary>The endpoint's HTTP/1.1 answers, each built once: head and body in one array, Connection: close.</summary>
internal static class HttpResponse
{
    public static readonly byte[] NotFound = Build("404 Not Found", "text/plain; charset=utf-8", "not found; the metrics are at /metrics\n", out _);
    public static readonly byte[] MethodNotAllowed = Build("405 Method Not Allowed", "text/plain; charset=utf-8", "only GET and HEAD\n", out _);
    public static readonly byte[] BadRequest = Build("400 Bad Request", "text/plain; charset=utf-8", "bad request\n", out _);

    /// <summary>The whole response; its first <paramref name="headLength"/> bytes are the answer to HEAD.</summary>
    public static byte[] Build(string status, string contentType, string body, out int headLength)
    {
        int bodyLength = Encoding.UTF8.GetByteCount(body);
        string head = "HTTP/1.1 " + status + "\r\nContent-Type: " + contentType + "\r\nContent-Length: "
            + bodyLength.ToString(CultureInfo.InvariantCulture) + "\r\nConnection: close\r\n"
            + (status.StartsWith("405", StringComparison.Ordinal) ? "Allow: GET, HEAD\r\n" : "") + "\r\n";
        headLength = Encoding.UTF8.GetByteCount(head);
        return Encoding.UTF8.GetBytes(head + body);
    }
}
