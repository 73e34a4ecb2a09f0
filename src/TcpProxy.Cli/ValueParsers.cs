using System;
using System.Globalization;
using TcpProxy.Configuration;

namespace TcpProxy.Cli;

/// <summary>
/// Turns one option's text into its value, or into the problem to report
/// ("'abc' is not a whole number"): never an exception, never a type name.
/// The caller prefixes the option's name.
/// </summary>
internal static class ValueParsers
{
    public static bool TryPort(string text, out int port, out string? problem)
    {
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port >= 1 && port <= 65535)
        {
            problem = null;
            return true;
        }
        problem = Quote(text) + " is not a port number (1-65535)";
        return false;
    }

    /// <summary>
    /// A whole number within [min, max]; <paramref name="unit"/> names it in messages ("bytes"),
    /// <paramref name="orElse"/> the word the caller accepts instead ("auto").
    /// </summary>
    public static bool TryWholeNumber(string text, long min, long max, string unit, out long value, out string? problem, string? orElse = null)
    {
        string range = "(" + Range(min, max) + " " + unit + (orElse is null ? ")" : ", or " + orElse + ")");
        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value))
        {
            // Digits that do not fit a long are a number, just far too large.
            if (IsSignedDigits(text))
                problem = Quote(text) + " is out of range " + range;
            else if (orElse is null)
                problem = Quote(text) + " is not a whole number of " + unit;
            else
                problem = Quote(text) + " is neither " + orElse + " nor a whole number of " + unit + " (" + Range(min, max) + ")";
            return false;
        }
        if (value < min || value > max)
        {
            problem = Quote(text) + " is out of range " + range;
            return false;
        }
        problem = null;
        return true;
    }

    /// <summary>
    /// A byte count, "1048576", or with a binary suffix: "512K", "64M", "2G"
    /// (KiB, MiB, GiB), within [min, max].
    /// </summary>
    public static bool TryByteCount(string text, long min, long max, out long value, out string? problem)
    {
        long scale = 1;
        string digits = text;
        if (text.Length > 1)
        {
            char suffix = char.ToUpperInvariant(text[^1]);
            scale = suffix switch { 'K' => 1L << 10, 'M' => 1L << 20, 'G' => 1L << 30, _ => 1 };
            if (scale > 1)
                digits = text[..^1];
        }
        if (!long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out long count) || count > max / scale)
        {
            value = 0;
            problem = Quote(text) + (IsSignedDigits(digits) ? " is out of range (" + Range(min, max) + " bytes)" : " is not a byte count (e.g. 1048576, 512K, 64M, 2G)");
            return false;
        }
        value = count * scale;
        if (value < min)
        {
            problem = Quote(text) + " is out of range (" + Range(min, max) + " bytes)";
            return false;
        }
        problem = null;
        return true;
    }

    /// <summary>
    /// Seconds with fractions, "0.5" or "10". <paramref name="allowZero"/> lets 0
    /// mean "off" while positive values must still reach <paramref name="min"/>.
    /// </summary>
    public static bool TrySeconds(string text, double min, double max, bool allowZero, out TimeSpan value, out string? problem)
    {
        value = TimeSpan.Zero;
        string range = (allowZero ? "0 (off) or " : "") + Number(min) + " to " + Number(max) + " seconds";
        if (!double.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double seconds)
            || !double.IsFinite(seconds))
        {
            problem = Quote(text) + " is not a number of seconds (" + range + ")";
            return false;
        }
        if (!(allowZero && seconds == 0) && !(seconds >= min && seconds <= max))
        {
            problem = Quote(text) + " is out of range (" + range + ")";
            return false;
        }
        value = TimeSpan.FromSeconds(seconds);
        problem = null;
        return true;
    }

    /// <summary>One of an enum's names, compared exactly.</summary>
    public static bool TryChoice<T>(string text, EnumNames<T> names, out T value, out string? problem) where T : struct, Enum
    {
        if (names.TryParse(text, out value))
        {
            problem = null;
            return true;
        }
        problem = Quote(text) + " is not one of " + string.Join(", ", names.Names);
        return false;
    }

    public static bool TryNonEmpty(string text, string what, out string? problem)
    {
        problem = text.Trim().Length == 0 ? "empty " + what : null;
        return problem is null;
    }

    /// <summary>"host:port", "[v6-address]:port"; the host is resolved later, at start-up.</summary>
    public static bool TryHostAndPort(string text, out string host, out int port, out string? problem)
    {
        host = "";
        port = 0;
        int colon = text.LastIndexOf(':');
        if (colon < 0)
        {
            problem = Quote(text) + " is not ADDRESS:PORT";
            return false;
        }
        host = text[..colon];
        if (host.StartsWith('[') && host.EndsWith(']'))
            host = host[1..^1];
        else if (host.Contains(':'))
        {
            problem = Quote(text) + " is not ADDRESS:PORT (write an IPv6 address in brackets: [::1]:9100)";
            return false;
        }
        if (host.Trim().Length == 0)
        {
            problem = Quote(text) + " has no address before the port (ADDRESS:PORT)";
            return false;
        }
        if (!TryPort(text[(colon + 1)..], out port, out string? portProblem))
        {
            problem = Quote(text) + " has a bad port: " + portProblem;
            return false;
        }
        problem = null;
        return true;
    }

    private static bool IsSignedDigits(string text)
    {
        int start = text.StartsWith('-') || text.StartsWith('+') ? 1 : 0;
        if (text.Length == start)
            return false;
        for (int i = start; i < text.Length; i++)
        {
            if (!char.IsAsciiDigit(text[i]))
                return false;
        }
        return true;
    }

    private static string Quote(string text) => "'" + text + "'";

    private static string Range(long min, long max) =>
        min.ToString(CultureInfo.InvariantCulture) + " to " + max.ToString(CultureInfo.InvariantCulture);

    private static string Number(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);
}
