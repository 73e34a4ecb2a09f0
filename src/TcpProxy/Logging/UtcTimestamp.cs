using System;

namespace TcpProxy.Logging;

/// <summary>
/// Milliseconds since the Unix epoch as RFC 3339 in UTC with milliseconds,
/// "2026-12-02T14:20:01.123Z", written as ASCII bytes by arithmetic alone
/// (days to a civil date as in Howard Hinnant's days_from_civil/civil_from_days):
/// no DateTime, no format string, nothing allocated.
/// </summary>
internal static class UtcTimestamp
{
    public const int Length = 24;

    private const long MsPerDay = 86_400_000;

    /// <summary>Writes <see cref="Length"/> bytes; years outside 0000-9999 keep their last four digits.</summary>
    public static void Format(long unixMs, Span<byte> destination)
    {
        long days = Math.DivRem(unixMs, MsPerDay, out long msOfDay);
        if (msOfDay < 0)
        {
            days--;
            msOfDay += MsPerDay;
        }
        CivilDate(days, out long year, out int month, out int day);
        Digits(destination, 0, year, 4);
        destination[4] = (byte)'-';
        Digits(destination, 5, month, 2);
        destination[7] = (byte)'-';
        Digits(destination, 8, day, 2);
        destination[10] = (byte)'T';
        Digits(destination, 11, msOfDay / 3_600_000, 2);
        destination[13] = (byte)':';
        Digits(destination, 14, msOfDay / 60_000 % 60, 2);
        destination[16] = (byte)':';
        Digits(destination, 17, msOfDay / 1000 % 60, 2);
        destination[19] = (byte)'.';
        Digits(destination, 20, msOfDay % 1000, 3);
        destination[23] = (byte)'Z';
    }

    // civil_from_days: eras of 400 years (146 097 days), years starting on 1 March so the leap day comes last.
    private static void CivilDate(long daysSinceEpoch, out long year, out int month, out int day)
    {
        long z = daysSinceEpoch + 719_468;
        long era = (z >= 0 ? z : z - 146_096) / 146_097;
        long dayOfEra = z - era * 146_097;
        long yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365;
        long dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100);
        long shiftedMonth = (5 * dayOfYear + 2) / 153;
        day = (int)(dayOfYear - (153 * shiftedMonth + 2) / 5 + 1);
        month = (int)(shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9);
        year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
    }

    private static void Digits(Span<byte> destination, int offset, long value, int count)
    {
        value = Math.Abs(value);
        for (int i = offset + count - 1; i >= offset; i--)
        {
            destination[i] = (byte)('0' + value % 10);
            value /= 10;
        }
    }
}
