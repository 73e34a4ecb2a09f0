namespace TcpProxy.Configuration;

/// <summary>Which PROXY protocol header, if any, precedes the client's bytes to the destination (--send-proxy).</summary>
public enum ProxyProtocolVersion
{
    None,
    V1,
    V2,
}

/// <summary>
/// The versions' names and longest headers. The lengths live here, not with
/// the header builder, because --buffer-size is checked against them and the
/// checks (<see cref="OptionChecks"/>) may name nothing above this floor.
/// </summary>
public static class ProxyProtocolVersions
{
    /// <summary>The longest v1 line the specification allows (TCP6 with every field at its widest).</summary>
    public const int MaxV1HeaderLength = 107;

    /// <summary>The longest v2 header this proxy sends: 16 bytes, then 36 of IPv6 addresses and ports.</summary>
    public const int MaxV2HeaderLength = 16 + 36;

    /// <summary>As --send-proxy takes them; None has no name there (it is the option left out).</summary>
    public static readonly EnumNames<ProxyProtocolVersion> All = new((ProxyProtocolVersion.V1, "v1"), (ProxyProtocolVersion.V2, "v2"));

    public static string Name(this ProxyProtocolVersion version) => All.NameOf(version);

    public static int MaxHeaderLength(this ProxyProtocolVersion version) =>
        version == ProxyProtocolVersion.V1 ? MaxV1HeaderLength : MaxV2HeaderLength;
}
