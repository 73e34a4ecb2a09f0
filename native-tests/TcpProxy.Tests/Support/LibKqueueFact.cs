using System;
using System.IO;

namespace TcpProxy.Tests.Support;

/// <summary>
/// A test of the kqueue backend against libkqueue's real kevent on Linux: it
/// runs when $LIBKQUEUE names the library (make dotnet-test-kqueue sets it
/// after make libkqueue) and is skipped otherwise, with the reason.
/// </summary>
public sealed class LibKqueueFactAttribute : FactAttribute
{
    public LibKqueueFactAttribute()
    {
        string? path = Environment.GetEnvironmentVariable("LIBKQUEUE");
        if (!OperatingSystem.IsLinux() || string.IsNullOrEmpty(path) || !File.Exists(path))
            Skip = "needs libkqueue on Linux: LIBKQUEUE=path/libkqueue.so (make libkqueue, then make dotnet-test-kqueue)";
    }
}
