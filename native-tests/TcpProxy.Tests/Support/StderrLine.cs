using System;
using System.Globalization;
using System.Text.RegularExpressions;

namespace TcpProxy.Tests.Support;

/// <summary>
/// The proxy starts every stderr line with the time, "2026-12-02T14:20:01.123Z tcpproxy: …"
/// (RFC 3339, UTC, milliseconds; under journald a priority instead, which tests read raw).
/// Tests match the text after it: <see cref="Strip"/> checks the stamp and removes it, so an
/// assertion stays as exact as the line it expects, and a line without a valid stamp fails it.
/// </summary>
public static class StderrLine
{
    /// <summary>Put before a line that lacks a valid stamp: an exact or StartsWith match on it fails and shows why.</summary>
    public const string UnstampedMark = "[unstamped] ";

    static readonly Regex Stamp = new(@"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z) ", RegexOptions.CultureInvariant);

    /// <summary>"&lt;N&gt;" first: a line for journald.</summary>
    public static readonly Regex JournalPriority = new(@"^<([0-7])>(.*)$", RegexOptions.CultureInvariant);

    /// <summary>
    /// The text after a valid stamp ("tcpproxy: …"). An access record on stderr, which starts
    /// with its own time (text "TIME client=…", or a JSON object), is whole; an empty line stays
    /// empty; anything else comes back marked <see cref="UnstampedMark"/>.
    /// </summary>
    public static string Strip(string raw)
    {
        if (raw.Length == 0 || raw.StartsWith("{\"time\":\"", StringComparison.Ordinal))
            return raw;
        if (!TryParse(raw, out _, out string rest))
            return UnstampedMark + raw;
        return rest.StartsWith("client=", StringComparison.Ordinal) ? raw : rest;
    }

    /// <summary>Whether the line starts with a valid stamp and a space; its time (UTC) and the text after it.</summary>
    public static bool TryParse(string raw, out DateTime utc, out string rest)
    {
        utc = default;
        rest = raw;
        Match match = Stamp.Match(raw);
        if (!match.Success || !DateTime.TryParseExact(match.Groups[1].Value, "yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture,
                DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out utc))
            return false;
        rest = raw[match.Length..];
        return true;
    }
}
