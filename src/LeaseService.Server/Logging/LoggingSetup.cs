using System.Reflection;
using Microsoft.Extensions.Options;
using Serilog;
using Serilog.Configuration;
using Serilog.Events;
using Serilog.Formatting;
using Serilog.Formatting.Display;
using Serilog.Formatting.Json;

namespace LeaseService.Server.Logging;

/// <summary>
/// Serilog from configuration. The <c>Serilog</c> section (Serilog.Settings.Configuration) sets
/// levels, overrides, enrichers and sinks; <c>Logging:Format</c> picks the console format:
/// <c>text</c> (default: the <c>Console</c> sink as the section configures it, control
/// characters in the events' strings escaped: <see cref="ControlCharacterEscaping"/>) or <c>json</c>
/// (one JSON object per line, Serilog's <see cref="JsonFormatter"/> with the rendered message;
/// the section's <c>Console</c> sinks are replaced by it, everything else is kept).
/// </summary>
internal static class LoggingSetup
{
    public const string FormatKey = "Logging:Format";

    /// <summary>The console template when the configuration has no <c>Serilog</c> section.</summary>
    public const string TextTemplate = "[{Timestamp:HH:mm:ss.fff} {Level:u3}] {SourceContext}: {Message:lj}{NewLine}{Exception}";

    private const string SerilogSection = "Serilog";

    /// <summary>ASP.NET Core's per-request logger (request start/finish and the request scope).</summary>
    private const string HostingDiagnosticsCategory = "Microsoft.AspNetCore.Hosting.Diagnostics";

    /// <summary>The console log format.</summary>
    public enum LogFormat
    {
        Text,
        Json,
    }

    /// <summary>
    /// Serilog as the host's only logger (Serilog.AspNetCore), configured from
    /// <paramref name="builder"/>'s configuration; an invalid <c>Logging:Format</c> or
    /// <c>Serilog</c> section stops start-up here.
    /// </summary>
    public static void UseSerilog(WebApplicationBuilder builder)
    {
        var logger = Configure(new LoggerConfiguration(), builder.Configuration).CreateLogger();
        builder.Logging.ClearProviders();

        // ASP.NET Core's per-request log scope and request start/finish events cost ~3 µs and ~1 KB
        // a call (measured, docs/PERFORMANCE.md) and say less than the per-call Debug event; off.
        // Events still carry TraceId and SpanId from Activity.Current when tracing is on.
        builder.Logging.AddFilter(HostingDiagnosticsCategory, LogLevel.None);
        builder.Services.AddSerilog(logger, dispose: true);
    }

    /// <summary>Reads <c>Logging:Format</c>; anything but text or json stops start-up naming the key.</summary>
    public static LogFormat ReadFormat(IConfiguration configuration)
    {
        var value = configuration[FormatKey];
        if (string.IsNullOrWhiteSpace(value) || string.Equals(value.Trim(), "text", StringComparison.OrdinalIgnoreCase))
        {
            return LogFormat.Text;
        }

        if (string.Equals(value.Trim(), "json", StringComparison.OrdinalIgnoreCase))
        {
            return LogFormat.Json;
        }

        throw new OptionsValidationException(FormatKey, typeof(LogFormat), [$"{FormatKey} must be 'text' or 'json' (was '{value}')."]);
    }

    /// <summary>
    /// Configures <paramref name="logger"/> from <paramref name="configuration"/>.
    /// <paramref name="console"/> adds a console sink with a formatter (tests capture it);
    /// by default Serilog's console sink.
    /// </summary>
    public static LoggerConfiguration Configure(
        LoggerConfiguration logger,
        IConfiguration configuration,
        Action<LoggerSinkConfiguration, ITextFormatter>? console = null)
    {
        var format = ReadFormat(configuration);
        console ??= static (sinks, formatter) => sinks.Console(formatter);
        if (format == LogFormat.Text)
        {
            // Paths are callers' strings: a newline in one would print a forged line of its own.
            logger.Enrich.With<ControlCharacterEscaping>();
        }

        if (!configuration.GetSection(SerilogSection).Exists())
        {
            logger.MinimumLevel.Information();
            console(logger.WriteTo, format == LogFormat.Json ? CreateJsonFormatter() : new MessageTemplateTextFormatter(TextTemplate));
            return logger;
        }

        CheckLevels(configuration);
        if (format == LogFormat.Text)
        {
            return ReadSection(logger, configuration);
        }

        ReadSection(logger, WithoutConsoleSinks(configuration));
        console(logger.WriteTo, CreateJsonFormatter());
        return logger;
    }

    /// <summary>
    /// The levels of <c>Serilog:MinimumLevel</c> (or its <c>Default</c>) and its overrides, as
    /// Serilog reads them, so a bad one stops start-up naming its key; Serilog's own message names
    /// only the value ("The value Info is not a valid Serilog level").
    /// </summary>
    private static void CheckLevels(IConfiguration configuration)
    {
        var minimum = configuration.GetSection(SerilogSection + ":MinimumLevel");
        var levels = new List<IConfigurationSection> { minimum, minimum.GetSection("Default") };
        levels.AddRange(minimum.GetSection("Override").GetChildren()
            .Where(level => level.Value is { } value && !value.StartsWith('$'))); // "$name": a level switch of Serilog:LevelSwitches.
        var failures = levels
            .Where(level => !string.IsNullOrEmpty(level.Value) && !Enum.TryParse<LogEventLevel>(level.Value, ignoreCase: true, out _))
            .Select(level => $"{level.Path} must be a Serilog level: {string.Join(", ", Enum.GetNames<LogEventLevel>())} (was '{level.Value}').")
            .ToList();
        if (failures.Count > 0)
        {
            throw new OptionsValidationException(SerilogSection, typeof(LoggerConfiguration), failures);
        }
    }

    /// <summary>The <c>Serilog</c> section applied to <paramref name="logger"/>; whatever it cannot apply stops start-up naming the section.</summary>
    private static LoggerConfiguration ReadSection(LoggerConfiguration logger, IConfiguration configuration)
    {
        try
        {
            return logger.ReadFrom.Configuration(configuration);
        }
        catch (Exception ex)
        {
            // An unknown sink, a bad argument, a level switch not declared: all the section's doing.
            var cause = ex is TargetInvocationException { InnerException: { } inner } ? inner : ex;
            throw new OptionsValidationException(SerilogSection, typeof(LoggerConfiguration), [$"The {SerilogSection} section cannot be applied: {cause.Message}"]);
        }
    }

    /// <summary>One JSON object per line: Timestamp, Level, MessageTemplate, RenderedMessage, Properties (EventId, SourceContext, …), Exception.</summary>
    public static ITextFormatter CreateJsonFormatter() => new JsonFormatter(renderMessage: true);

    /// <summary>A copy of the configuration without the <c>Serilog:WriteTo</c> entries whose <c>Name</c> is <c>Console</c>.</summary>
    private static IConfiguration WithoutConsoleSinks(IConfiguration configuration)
    {
        var consoleSinks = configuration.GetSection(SerilogSection + ":WriteTo").GetChildren()
            .Where(sink => string.Equals(sink["Name"], "Console", StringComparison.OrdinalIgnoreCase))
            .Select(sink => sink.Path + ConfigurationPath.KeyDelimiter)
            .ToArray();
        var kept = configuration.AsEnumerable()
            .Where(pair => pair.Value is not null // Sections themselves: rebuilt from their keys.
                && !consoleSinks.Any(prefix => pair.Key.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)));
        return new ConfigurationBuilder().AddInMemoryCollection(kept).Build();
    }
}
