using System;
using TcpProxy.Configuration;
using TcpProxy.Interop;
using TcpProxy.Logging;

namespace TcpProxy.Proxy;

/// <summary>
/// --access-log: one line per client connection when it closes, as text
/// ("2026-11-28T14:00:00.123Z client=127.0.0.1:5000 server=127.0.0.1:80
/// bytes_up=5 bytes_down=7 duration_s=0.012 reason=eof error=-") or as one
/// JSON object per line with the same keys (time, client, server, bytes_up,
/// bytes_down, duration_s, reason, error; null where there is none).
/// Formatted into a reused buffer and queued on a <see cref="LogWriter"/>:
/// never blocks, and a full disk or pipe costs lines, which it counts.
/// </summary>
public sealed class AccessLog
{
    /// <summary>A JSON access log must stay one object per line, even the notice of lost lines.</summary>
    public const string JsonDroppedNotice = "{{\"notice\":\"access log lines dropped\",\"dropped_lines\":{0}}}";
    public const string TextDroppedNotice = "tcpproxy: {0} access log lines dropped";

    private readonly LogWriter _writer;
    private readonly bool _json;
    private char[] _line = new char[512];
    private int _length;

    public AccessLog(LogWriter writer, AccessLogFormat format)
    {
        _writer = writer;
        _json = format == AccessLogFormat.Json;
    }

    public LogWriter Writer => _writer;

    /// <summary>Writes the line for one closed connection; server is null when it never connected.</summary>
    public void Write(string? client, string? server, long bytesUp, long bytesDown, long durationMs, CloseReason reason, int errno)
    {
        _length = 0;
        Span<char> time = stackalloc char[32];
        DateTime.UtcNow.TryFormat(time, out int timeLength, "yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);
        if (_json)
            Append("{\"time\":\"").Append(time[..timeLength]).Append('"');
        else
            Append(time[..timeLength]);
        Field("client", client ?? "unknown", quoted: true);
        Field("server", server, quoted: true);
        Field("bytes_up").Append(bytesUp);
        Field("bytes_down").Append(bytesDown);
        Field("duration_s").AppendSeconds(durationMs);
        Field("reason", CloseReasons.Name(reason), quoted: true);
        Field("error", errno != 0 ? Errno.Name(errno) : null, quoted: true);
        if (_json)
            Append('}');
        _writer.WriteRecord(_line.AsSpan(0, _length));
    }

    private AccessLog Field(string key)
    {
        if (_json)
            return Append(",\"").Append(key).Append("\":");
        return Append(' ').Append(key).Append('=');
    }

    // A string value: JSON quotes and escapes it (null stays null); text writes it bare, '-' for none.
    private void Field(string key, string? value, bool quoted)
    {
        Field(key);
        if (value is null)
        {
            Append(_json ? "null" : "-");
            return;
        }
        if (!_json || !quoted)
        {
            Append(value);
            return;
        }
        Append('"');
        foreach (char c in value)
        {
            if (c == '"' || c == '\\')
                Append('\\').Append(c);
            else if (c < ' ')
                Append("\\u00").Append(HexDigit(c >> 4)).Append(HexDigit(c & 0xf));
            else
                Append(c);
        }
        Append('"');
    }

    private static char HexDigit(int value) => (char)(value < 10 ? '0' + value : 'a' + value - 10);

    private AccessLog Append(char c)
    {
        Reserve(1);
        _line[_length++] = c;
        return this;
    }

    private AccessLog Append(ReadOnlySpan<char> text)
    {
        Reserve(text.Length);
        text.CopyTo(_line.AsSpan(_length));
        _length += text.Length;
        return this;
    }

    private AccessLog Append(long value)
    {
        Reserve(20);
        value.TryFormat(_line.AsSpan(_length), out int written, default, System.Globalization.CultureInfo.InvariantCulture);
        _length += written;
        return this;
    }

    // Milliseconds as seconds with three decimals, "12.345": exact, no floating point.
    private void AppendSeconds(long milliseconds)
    {
        Append(milliseconds / 1000).Append('.');
        long fraction = milliseconds % 1000;
        Append((char)('0' + fraction / 100)).Append((char)('0' + fraction / 10 % 10)).Append((char)('0' + fraction % 10));
    }

    private void Reserve(int count)
    {
        if (_length + count > _line.Length)
            Array.Resize(ref _line, Math.Max(_line.Length * 2, _length + count));
    }
}
