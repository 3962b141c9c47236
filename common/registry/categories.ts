/**
 * What a server is for, as one category of a small fixed taxonomy, derived from the entry's own searchable text
 * (its name, title, description, repository topics, tool names). Registries carry no category field worth
 * trusting, so the rules are words: whole terms (and two-word phrases) after the search tokenizer's folding, never
 * substrings, so that `scrapbook` is no scraper and `<img onerror=…>` in a description is just three more words.
 */
import type { CatalogEntry } from './model';
import { searchDocument, type SearchDocument } from './search/documents';
import { terms } from './search/tokens';

/** The taxonomy, in the order ties are broken (the more specific first); `other` when no rule matches. */
export const CATEGORIES = [
  { id: 'databases', label: 'Databases' },
  { id: 'search', label: 'Search' },
  { id: 'browser-web', label: 'Browser & web' },
  { id: 'files-storage', label: 'Files & storage' },
  { id: 'communication', label: 'Communication' },
  { id: 'finance', label: 'Finance' },
  { id: 'security', label: 'Security' },
  { id: 'cloud-infrastructure', label: 'Cloud & infrastructure' },
  { id: 'developer-tools', label: 'Developer tools' },
  { id: 'knowledge-memory', label: 'Knowledge & memory' },
  { id: 'productivity', label: 'Productivity' },
  { id: 'data-analytics', label: 'Data & analytics' },
  { id: 'ai-llm', label: 'AI & LLM' },
  { id: 'other', label: 'Other' },
] as const;

export type CategoryId = (typeof CATEGORIES)[number]['id'];

const LABELS = new Map<string, string>(CATEGORIES.map((c) => [c.id, c.label]));

/** The label users read for a category id (the id itself for one this version does not know). */
export function categoryLabel(id: string): string {
  return LABELS.get(id) ?? id;
}

/** Categories with entries, the largest first and Other last (it says least); ties in the taxonomy's order. */
export function categoriesByCount(counts: Partial<Record<CategoryId, number>>): Array<[CategoryId, number]> {
  return CATEGORIES.flatMap((c): Array<[CategoryId, number]> => (counts[c.id] ? [[c.id, counts[c.id]!]] : [])).sort(
    (a, b) => Number(a[0] === 'other') - Number(b[0] === 'other') || b[1] - a[1],
  );
}

/** Whether a string is a category id of the taxonomy. */
export function isCategoryId(value: string): value is CategoryId {
  return LABELS.has(value);
}

/**
 * Words per category. `strong`: product names and unambiguous terms (3 points); `weak`: words that lean one way but
 * also appear elsewhere (1 point). Before the first comma single words, after it phrases (adjacent terms). Generic words every MCP description uses
 * (`ai`, `agent`, `assistant`, `claude`, `context`, `tool`) are deliberately absent: they describe the client, not
 * what the server does.
 */
const RULES: Record<Exclude<CategoryId, 'other'>, { strong: string; weak: string }> = {
  databases: {
    strong:
      'database sql postgres postgresql mysql mariadb sqlite mongodb mongo redis supabase dynamodb cassandra clickhouse duckdb mssql ' +
      'couchbase couchdb neo4j firestore cockroachdb planetscale turso libsql tidb singlestore timescaledb qdrant pinecone weaviate milvus ' +
      'chromadb prisma drizzle jooq db2 memcached valkey surrealdb,vector database,graph database,query language',
    weak: 'db table tables schema schemas nosql',
  },
  search: {
    strong: 'brave tavily perplexity serpapi serper kagi searxng duckduckgo bing exa algolia meilisearch typesense elasticsearch opensearch,web search,search engine,search api',
    weak: 'search searching lookup',
  },
  'browser-web': {
    strong: 'browser playwright puppeteer selenium scrape scraping scraper crawl crawler crawling firecrawl browserbase stagehand chromium,web page,web scraping,headless browser',
    weak: 'web website webpage html url fetch chrome page screenshot http',
  },
  'files-storage': {
    strong: 'filesystem dropbox onedrive s3 sftp ftp pdf,file system,google drive,object storage,cloud storage',
    weak: 'file files folder folders directory storage upload download document documents blob bucket drive',
  },
  communication: {
    strong:
      'slack discord email gmail outlook telegram whatsapp sms twilio mattermost imessage sendgrid mailgun resend zoom wechat line,microsoft teams',
    weak: 'chat message messages messaging notification notifications mail inbox channel voice call calls phone',
  },
  finance: {
    strong:
      'finance financial stock stocks crypto cryptocurrency bitcoin ethereum blockchain defi solana web3 nft coinbase binance stripe paypal ' +
      'invoice invoices accounting banking bank xero quickbooks trading forex sec splitwise,exchange rate,exchange rates',
    weak: 'payment payments price prices market wallet tax expense expenses budget currency ticker',
  },
  security: {
    strong: 'security vulnerability vulnerabilities cve pentest pentesting malware threat siem nmap shodan virustotal osint semgrep snyk exploit firewall pcap,penetration testing',
    weak: 'audit compliance secrets vault encryption certificate certificates scan scanner scanning',
  },
  'cloud-infrastructure': {
    strong:
      'aws azure gcp kubernetes k8s docker terraform cloudflare vercel netlify heroku helm ansible pulumi openshift digitalocean hetzner ' +
      'serverless lambda devops infrastructure grafana prometheus datadog,google cloud,cloud run',
    weak: 'cloud deploy deployment deployments container containers cluster hosting dns cdn monitoring observability logs server servers',
  },
  'developer-tools': {
    strong:
      'github gitlab bitbucket git xcode ide debugger debugging lint linter compiler sdk npm pypi sentry vscode refactor refactoring ' +
      'codebase typescript javascript python rust golang java swift kotlin android ios swagger openapi graphql jupyter,pull request,pull requests,code review',
    weak: 'code coding developer developers programming test tests testing build terminal shell command commands cli package packages api repository repositories',
  },
  'knowledge-memory': {
    strong: 'memory memories knowledge obsidian wiki mediawiki rag retrieval embeddings notebooklm logseq roam,knowledge graph,knowledge base,long term',
    weak: 'notes note documentation docs remember graph arxiv papers paper research library',
  },
  productivity: {
    strong:
      'calendar todo todoist jira linear asana trello notion clickup airtable spreadsheet spreadsheets excel powerpoint hubspot salesforce ' +
      'zendesk intercom figma canva miro confluence crm,google sheets,google docs,microsoft 365,office 365,project management',
    weak: 'task tasks project projects meeting meetings schedule scheduling reminder reminders workflow workflows productivity team cms marketing advertising ads campaign campaigns seo',
  },
  'data-analytics': {
    strong: 'analytics bigquery snowflake databricks dbt spark kafka etl pandas tableau looker metabase posthog mixpanel amplitude statistics statistical,data analysis,google analytics',
    weak: 'data dataset datasets analysis analyze chart charts visualization dashboard dashboards metrics report reports csv',
  },
  'ai-llm': {
    strong:
      'llm llms openai gpt chatgpt gemini mistral ollama huggingface replicate midjourney dalle elevenlabs whisper tts inference ' +
      'transcription,language model,language models,hugging face,stable diffusion,image generation,machine learning,text to speech,sequential thinking',
    weak: 'reasoning thinking image images speech video videos vision ml',
  },
};

/** How much a match counts by where it is: a server's name says what it is more than a sentence of its description. */
const FIELD_WEIGHTS: Array<[keyof SearchDocument, number, boolean]> = [
  ['name', 3, true],
  ['title', 3, false],
  ['aliases', 1, true],
  ['repository', 2, true],
  ['description', 1, false],
  ['tools', 1, true],
  ['toolDescriptions', 0.5, false],
];

const STRONG = 3;
const WEAK = 1;
/** Below this (no rule word in any field but tool descriptions), `other` is more honest. */
const MIN_SCORE = 1;

interface Rule {
  category: CategoryId;
  points: number;
}

/** Each folded term or two-term phrase of the rules, with the categories it counts for. */
const RULE_INDEX: Map<string, Rule[]> = (() => {
  const index = new Map<string, Rule[]>();
  for (const [category, words] of Object.entries(RULES) as Array<[CategoryId, { strong: string; weak: string }]>) {
    for (const [text, points] of [[words.strong, STRONG], [words.weak, WEAK]] as const) {
      // Before the first comma single words; after it, comma-separated phrases.
      const [single, ...phrases] = text.split(',');
      for (const phrase of [...single.split(' '), ...phrases]) {
        const key = terms(phrase).join(' ');
        if (!key) continue;
        const rules = index.get(key) ?? [];
        // A word listed twice for one category counts once, at its strongest.
        const same = rules.find((r) => r.category === category);
        if (same) same.points = Math.max(same.points, points);
        else rules.push({ category, points });
        index.set(key, rules);
      }
    }
  }
  return index;
})();

/** The first words of the rules' phrases. */
const PHRASE_STARTS = new Set([...RULE_INDEX.keys()].filter((k) => k.includes(' ')).map((k) => k.slice(0, k.indexOf(' '))));

/** Each category's score for a document: every distinct rule word found in a field counts once for that field. */
export function categoryScores(doc: SearchDocument): Map<CategoryId, number> {
  const scores = new Map<CategoryId, number>();
  for (const [field, weight, identifier] of FIELD_WEIGHTS) {
    const words = terms(doc[field], identifier);
    const seen = new Set<string>();
    const count = (key: string) => {
      const rules = RULE_INDEX.get(key);
      if (!rules || seen.has(key)) return;
      seen.add(key);
      for (const rule of rules) scores.set(rule.category, (scores.get(rule.category) ?? 0) + rule.points * weight);
    };
    for (let i = 0; i < words.length; i++) {
      count(words[i]);
      // Phrases are looked up only where one can start: most words start none.
      if (i + 1 < words.length && PHRASE_STARTS.has(words[i])) count(`${words[i]} ${words[i + 1]}`);
    }
  }
  return scores;
}

/** The category of a search document: the best-scoring one (ties to the taxonomy's order), `other` below the threshold. */
export function categorize(doc: SearchDocument): CategoryId {
  const scores = categoryScores(doc);
  let best: CategoryId = 'other';
  let bestScore = MIN_SCORE - Number.EPSILON;
  for (const { id } of CATEGORIES) {
    const score = scores.get(id) ?? 0;
    if (score > bestScore) {
      best = id;
      bestScore = score;
    }
  }
  return best;
}

/** The category of a catalog entry (from its searchable text). */
export function entryCategory(entry: CatalogEntry): CategoryId {
  return categorize(searchDocument(entry));
}
