using Gateway.Cli;

return await GatewayCli.RunAsync(args, Console.Out, Console.Error);
