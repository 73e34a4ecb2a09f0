namespace TcpProxy.Configuration;

/// <summary>How access-log lines are written (--log-format).</summary>
public enum AccessLogFormat
{
    Text,
    Json,
}

public static class AccessLogFormatNames
{
    /// <summary>As --log-format takes them.</summary>
    public static readonly EnumNames<AccessLogFormat> All = new((AccessLogFormat.Text, "text"), (AccessLogFormat.Json, "json"));

    public static string Name(this AccessLogFormat format) => All.NameOf(format);
}
