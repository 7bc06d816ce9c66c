namespace UserStack.Tools.Rfc;

/// <summary>How far the stack meets one RFC rule (a row of docs/rfc/requirements.tsv).</summary>
public enum RequirementStatus { Implemented, Partly, NotApplicable, NotImplemented }

/// <summary>One rule of one RFC: RFC 9293's "MUST-16", or a section ("3.2") for RFCs without numbered requirements.</summary>
public sealed record Requirement(int Rfc, string Id, string Summary, RequirementStatus Status, string Note);

/// <summary>A test that shows a rule: an NUnit test with [Rfc] or a packetdrill script with a `// rfc:` line.</summary>
/// <param name="Name">"Class.Method" or the script's file name.</param>
/// <param name="File">The test's file, relative to the repository root ("" when unknown).</param>
public sealed record Evidence(int Rfc, string Id, string Name, string File);

/// <summary>docs/rfc/requirements.tsv: the rules, with a title row (id "-") per RFC.</summary>
public sealed record RequirementList(IReadOnlyDictionary<int, string> Titles, IReadOnlyList<Requirement> Rows, IReadOnlyList<string> Problems)
{
    public static RequirementList Load(string path)
    {
        var titles = new Dictionary<int, string>();
        var rows = new List<Requirement>();
        var problems = new List<string>();
        var lines = File.ReadAllLines(path);
        for (int i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            if (line.Length == 0 || line.StartsWith('#') || line.StartsWith("rfc\t", StringComparison.Ordinal)) continue;
            var cells = line.Split('\t');
            string where = $"{Path.GetFileName(path)}:{i + 1}";
            if (cells.Length is < 4 or > 5 || !int.TryParse(cells[0], out int rfc))
            {
                problems.Add($"{where}: expected rfc, id, status, summary[, note] separated by tabs");
                continue;
            }
            if (cells[1] == "-") { titles[rfc] = cells[3]; continue; }
            if (!TryParseStatus(cells[2], out var status))
            {
                problems.Add($"{where}: status '{cells[2]}' is not implemented, partly, not-applicable or not-implemented");
                continue;
            }
            string note = cells.Length == 5 ? cells[4] : "";
            if (status != RequirementStatus.Implemented && note.Length == 0)
                problems.Add($"{where}: RFC {rfc} {cells[1]} is {cells[2]} but gives no reason");
            if (rows.Any(r => r.Rfc == rfc && r.Id == cells[1]))
                problems.Add($"{where}: RFC {rfc} {cells[1]} is listed twice");
            if (!titles.ContainsKey(rfc))
                problems.Add($"{where}: RFC {rfc} has no title row (id '-') before its rules");
            rows.Add(new Requirement(rfc, cells[1], cells[3], status, note));
        }
        return new RequirementList(titles, rows, problems);
    }

    private static bool TryParseStatus(string text, out RequirementStatus status)
    {
        status = text switch
        {
            "implemented" => RequirementStatus.Implemented,
            "partly" => RequirementStatus.Partly,
            "not-applicable" => RequirementStatus.NotApplicable,
            "not-implemented" => RequirementStatus.NotImplemented,
            _ => (RequirementStatus)(-1),
        };
        return Enum.IsDefined(status);
    }
}
