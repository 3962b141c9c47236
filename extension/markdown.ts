/** Escapes text for a MarkdownString: names, errors and descriptions come from servers and registries, not from us. */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>~]/g, '\\$&');
}
