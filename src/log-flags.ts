/** `--log-format` and `--log-level`, the same on every command (src/log.ts says what wins over what). */
import { Option, type Command } from 'commander';
import { LOG_FORMATS, LOG_LEVELS, pinLogSettings, type LogFormat, type LogLevel } from './log.js';

export function addLogFlags(command: Command): Command {
  return command
    .addOption(new Option('--log-format <format>', 'log line format (overrides log.format in the file and DNSCDN_LOG_FORMAT)').choices(LOG_FORMATS))
    .addOption(new Option('--log-level <level>', 'lowest level logged (overrides log.level in the file and DNSCDN_LOG)').choices(LOG_LEVELS));
}

/** A preAction hook: applies the flags before the command's action reads its file or starts anything. */
export function applyLogFlags(_program: Command, action: Command): void {
  const o = action.opts<{ logFormat?: LogFormat; logLevel?: LogLevel }>();
  pinLogSettings({ format: o.logFormat, level: o.logLevel });
}
