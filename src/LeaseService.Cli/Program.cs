using System.Runtime.InteropServices;
using LeaseService.Cli;

// Ctrl+C (SIGINT) and SIGTERM cancel the command, which ends as documented: "cancelled." and exit
// code 1. The signal's default action (ending the process at once) is kept for a second signal,
// should a command not end.
using var cancel = new CancellationTokenSource();
using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Cancel);
using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Cancel);
return await LeaseCli.RunAsync(args, Console.Out, Console.Error, cancellationToken: cancel.Token).ConfigureAwait(false);

void Cancel(PosixSignalContext signal)
{
    if (!cancel.IsCancellationRequested)
    {
        signal.Cancel = true;
        cancel.Cancel();
    }
}
