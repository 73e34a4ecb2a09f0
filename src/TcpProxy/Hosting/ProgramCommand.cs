using System;
using System.IO;

namespace TcpProxy.Hosting;

/// <summary>
/// How this process was started — the path it was run from and its
/// arguments — so SIGUSR2 can run whatever binary now sits at that path
/// (a package upgrade replaces the file) with the same arguments.
/// </summary>
public sealed class ProgramCommand
{
    private ProgramCommand(string path, string[] arguments)
    {
        Path = path;
        Arguments = arguments;
    }

    /// <summary>An absolute path: argv[0] against the start-up directory, or found on PATH as the shell did.</summary>
    public string Path { get; }

    /// <summary>The arguments after argv[0].</summary>
    public string[] Arguments { get; }

    /// <summary>This process's command; <paramref name="arguments"/> are Main's.</summary>
    public static ProgramCommand Current(string[] arguments) => new(PathRunFrom(), (string[])arguments.Clone());

    // Not /proc/self/exe: that names the old file's inode, "(deleted)" once a new build replaced it.
    private static string PathRunFrom()
    {
        string[] commandLine = Environment.GetCommandLineArgs();
        string? argv0 = commandLine.Length > 0 ? commandLine[0] : null;
        string fallback = Environment.ProcessPath ?? "tcpproxy";
        // A framework-dependent build reports its .dll here: its launcher is what runs.
        if (string.IsNullOrEmpty(argv0) || argv0.EndsWith(".dll", StringComparison.Ordinal))
            return fallback;
        if (argv0.Contains('/'))
            return System.IO.Path.GetFullPath(argv0);
        foreach (string directory in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = System.IO.Path.Combine(directory, argv0);
            if (System.IO.Path.IsPathRooted(candidate) && File.Exists(candidate))
                return candidate;
        }
        return fallback;
    }
}
