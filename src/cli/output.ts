/**
 * What a command prints. Results go to stdout, as one JSON document with `--json` or as text;
 * progress only when stdout is a terminal (and not with `--json`), rewriting one line; notes for
 * people (hints, warnings) go to stderr so that they never mix with what a script reads.
 */
export interface Output {
  readonly json: boolean
  /** stdout is a terminal and the output is text: progress and live logs are shown. */
  readonly interactive: boolean
  /** Prints the command's result: `data` as JSON with `--json`, else `text`. */
  result(text: string, data: unknown): void
  /** Prints a line of text output (never with `--json`). */
  line(text: string): void
  /** Shows `text` as the current progress, on a terminal only. */
  progress(text: string): void
  /** Clears the progress line, if one is shown. */
  endProgress(): void
  /** A message for people, on stderr (never with `--json`, except warnings). */
  note(text: string): void
  warn(text: string): void
}

/** The output of a command, given its `--json` flag. */
export function createOutput(json: boolean, stdout = process.stdout): Output {
  const interactive = !json && stdout.isTTY === true
  let progressShown = false

  function endProgress(): void {
    if (!progressShown) return
    stdout.write('\r\x1b[2K')
    progressShown = false
  }

  return {
    json,
    interactive,
    result(text, data) {
      endProgress()
      stdout.write(json ? `${JSON.stringify(data)}\n` : `${text}\n`)
    },
    line(text) {
      if (json) return
      endProgress()
      stdout.write(`${text}\n`)
    },
    progress(text) {
      if (!interactive) return
      stdout.write(`\r\x1b[2K${text}`)
      progressShown = true
    },
    endProgress,
    note(text) {
      if (!json) process.stderr.write(`${text}\n`)
    },
    warn(text) {
      process.stderr.write(`warning: ${text}\n`)
    },
  }
}
