namespace TcpProxy.Configuration;

/// <summary>How directions move bytes (--splice): through a ring in user space, or socket to pipe to socket inside the kernel.</summary>
public enum SpliceMode
{
    /// <summary>Copy: recv into a ring, send from it.</summary>
    Off,
    /// <summary>Every direction splices (Linux only).</summary>
    On,
    /// <summary>Each direction copies until it streams in bulk, then splices until it goes quiet; off where there is no splice.</summary>
    Auto,
}

public static class SpliceModeNames
{
    /// <summary>As --splice takes them.</summary>
    public static readonly EnumNames<SpliceMode> All = new((SpliceMode.Off, "off"), (SpliceMode.On, "on"), (SpliceMode.Auto, "auto"));

    public static string Name(this SpliceMode mode) => All.NameOf(mode);
}
