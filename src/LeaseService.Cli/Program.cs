using LeaseService.Cli;

return await LeaseCli.RunAsync(args, Console.Out, Console.Error).ConfigureAwait(false);
