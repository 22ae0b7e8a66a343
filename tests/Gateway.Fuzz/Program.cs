using Gateway.Fuzz;
using SharpFuzz;

// Usage:
//   Gateway.Fuzz <target>                 run under AFL++ (afl-fuzz ... -- dotnet Gateway.Fuzz.dll <target>)
//   Gateway.Fuzz <target> --replay <dir>  run every file of a directory once, in process (corpus smoke, crash triage)
//   Gateway.Fuzz --list                   print the target names
if (args.Length == 1 && args[0] == "--list")
{
    foreach (var name in Targets.All.Keys)
    {
        Console.WriteLine(name);
    }

    return 0;
}

if (args.Length == 0 || !Targets.All.TryGetValue(args[0], out var target))
{
    Console.Error.WriteLine($"usage: Gateway.Fuzz <{string.Join('|', Targets.All.Keys)}> [--replay <dir>]");
    return 2;
}

if (args.Length == 3 && args[1] == "--replay")
{
    var failures = 0;
    var files = Directory.Exists(args[2]) ? Directory.GetFiles(args[2]) : [args[2]];
    foreach (var file in files.Order(StringComparer.Ordinal))
    {
        try
        {
            target(File.ReadAllBytes(file));
        }
        catch (Exception ex)
        {
            failures++;
            Console.Error.WriteLine($"{file}: {ex.GetType().Name}: {ex.Message}\n{ex.StackTrace}");
        }
    }

    Console.WriteLine($"{args[0]}: {files.Length} inputs, {failures} crashes");
    return failures == 0 ? 0 : 1;
}

Fuzzer.OutOfProcess.Run(stream =>
{
    using var buffer = new MemoryStream();
    stream.CopyTo(buffer);
    target(buffer.ToArray());
});
return 0;
