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

    // The probes' answers (Kubernetes' /readyz and /livez), and the length of each one's head for HEAD.
    public static readonly byte[] Ready = Build("200 OK", "text/plain; charset=utf-8", "ready\n", out ReadyHeadLength);
    public static readonly byte[] Draining = Build("503 Service Unavailable", "text/plain; charset=utf-8", "draining\n", out DrainingHeadLength);
    public static readonly byte[] Live = Build("200 OK", "text/plain; charset=utf-8", "live\n", out LiveHeadLength);
    public static readonly int ReadyHeadLength;
    public static readonly int DrainingHeadLength;
    public static readonly int LiveHeadLength;

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
