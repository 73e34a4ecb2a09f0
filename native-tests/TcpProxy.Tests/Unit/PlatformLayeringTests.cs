using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using TcpProxy.Tests.Support;

namespace TcpProxy.Tests.Unit;

/// <summary>
/// Tmds.LibC ships no macOS assembly: a method that names one of its types or
/// members cannot even be compiled on a Mac. So only TcpProxy.Interop.Linux
/// may name it; every other method of the proxy is read here, IL instruction
/// by instruction (locals, parameters, calls, fields, tokens).
/// </summary>
public sealed class PlatformLayeringTests
{
    private const string LinuxLayer = "TcpProxy.Interop.Linux";

    [Theory]
    [InlineData("TcpProxy.Core")]
    [InlineData("tcpproxy")]
    public void OnlyTheLinuxLayer_NamesTmdsLibC(string assemblyName)
    {
        Assembly assembly = Assembly.Load(assemblyName);
        var offenders = new SortedSet<string>();
        foreach (Type type in assembly.GetTypes())
        {
            if (type.Namespace == LinuxLayer || (type.Namespace?.StartsWith(LinuxLayer + ".", StringComparison.Ordinal) ?? false))
                continue;
            foreach (FieldInfo field in type.GetFields(IlReferences.Declared))
            {
                if (IsTmds(field.FieldType))
                    offenders.Add($"{type.FullName}.{field.Name} (field type)");
            }
            foreach (MethodBase method in type.GetMethods(IlReferences.Declared).Cast<MethodBase>().Concat(type.GetConstructors(IlReferences.Declared)))
            {
                foreach (string use in TmdsUses(method))
                    offenders.Add($"{type.FullName}.{method.Name}: {use}");
            }
        }
        Assert.True(offenders.Count == 0, "outside Interop/Linux:\n" + string.Join("\n", offenders));
    }

    [Fact]
    public void TheCheck_FindsAUseOfTmdsLibC()
    {
        // The Linux layer itself must show up, or the check above proves nothing.
        Type linux = Assembly.Load("TcpProxy.Core").GetTypes().First(t => t.Namespace == LinuxLayer && t.Name == "LinuxSys");
        Assert.Contains(linux.GetMethods(IlReferences.Declared), m => TmdsUses(m).Any());
    }

    private static bool IsTmds(Type? type) =>
        IlReferences.Constituents(type).Any(t => t.Assembly.GetName().Name == "Tmds.LibC");

    private static IEnumerable<string> TmdsUses(MethodBase method) =>
        IlReferences.TypesNamedBy(method).Where(use => IsTmds(use.Type)).Select(use => use.Where);
}
