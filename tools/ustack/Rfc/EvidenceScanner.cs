using System.Reflection;
using System.Text.RegularExpressions;

namespace UserStack.Tools.Rfc;

/// <summary>Finds the tests that name RFC rules: [Rfc] attributes in the test assembly, `// rfc:` lines in scripts.</summary>
public static partial class EvidenceScanner
{
    /// <summary>Every [Rfc(rfc, "id")] on a test method or class (matched by name, so any load context works).</summary>
    public static List<Evidence> FromAssembly(Assembly tests)
    {
        Type[] types;
        try { types = tests.GetTypes(); }
        catch (ReflectionTypeLoadException e) { types = e.Types.OfType<Type>().ToArray(); }
        var found = new List<Evidence>();
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        foreach (var type in types)
        {
            string typeName = (type.FullName ?? type.Name)[(type.Namespace is { } ns ? ns.Length + 1 : 0)..].Replace('+', '.');
            foreach (var a in type.GetCustomAttributesData()) Add(a, typeName);
            foreach (var method in type.GetMethods(all))
                foreach (var a in method.GetCustomAttributesData()) Add(a, $"{typeName}.{method.Name}");
        }
        return found;

        void Add(CustomAttributeData a, string name)
        {
            if (a.AttributeType.Name != "RfcAttribute" || a.ConstructorArguments.Count < 2) return;
            var args = a.ConstructorArguments;
            string file = args.Count > 2 && args[2].Value is string f ? RepositoryRelative(f) : "";
            found.Add(new Evidence((int)args[0].Value!, (string)args[1].Value!, name, file));
        }
    }

    /// <summary>Every `// rfc: 9293 MUST-16 [MUST-14 ...]` line of every .pkt under Tests/; malformed ones become problems.</summary>
    public static List<Evidence> FromScripts(string repositoryRoot, List<string> problems)
    {
        var found = new List<Evidence>();
        var tests = Path.Combine(repositoryRoot, "Tests");
        foreach (var path in Directory.EnumerateFiles(tests, "*.pkt", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            string relative = Path.GetRelativePath(repositoryRoot, path).Replace('\\', '/');
            if (relative.Split('/') is var parts && (parts.Contains("bin") || parts.Contains("obj"))) continue; // build output copies
            foreach (var line in File.ReadLines(path))
            {
                if (!line.TrimStart().StartsWith("// rfc:", StringComparison.Ordinal)) continue;
                var m = HeaderLine().Match(line);
                if (!m.Success) { problems.Add($"{relative}: '{line.Trim()}' is not '// rfc: NUMBER ID [ID ...]'"); continue; }
                foreach (Capture id in m.Groups["id"].Captures)
                    found.Add(new Evidence(int.Parse(m.Groups["rfc"].Value), id.Value, Path.GetFileName(path), relative));
            }
        }
        return found;
    }

    // The compiler records the absolute path it compiled; the matrix links from the repository root.
    private static string RepositoryRelative(string file)
    {
        file = file.Replace('\\', '/');
        int at = file.LastIndexOf("/Tests/", StringComparison.Ordinal);
        return at < 0 ? "" : file[(at + 1)..];
    }

    [GeneratedRegex(@"^\s*//\s*rfc:\s*(?<rfc>\d+)(\s+(?<id>[A-Za-z0-9.\-]+))+\s*$")]
    private static partial Regex HeaderLine();
}
