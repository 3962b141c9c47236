/**
 * The details of one entry. Every string here came from a registry: React renders it as text, and links are buttons
 * that ask the extension to open the URL (which it checks again), never anchors the webview would follow itself.
 */
import type { DetailsLink, DetailsRecipe, DetailsRequest, DetailsView } from '../../common/registry/details-messages';
import type { ToolSummary } from '../../common/registry/model';
import { post } from '../shared/host';
import './elements';

const send = (request: DetailsRequest) => post<DetailsRequest>(request);

/** A link the extension may open, or plain text when it is not an http(s) URL. */
function Link({ link, label }: { link: DetailsLink; label?: string }) {
  if (!link.url) return <span className="unsafe-link" title="Not an http(s) link: not opened">{label ?? link.text}</span>;
  const url = link.url;
  return (
    <button type="button" className="link" title={url} onClick={() => send({ type: 'openLink', url })}>
      {label ?? link.text}
    </button>
  );
}

function CopyButton({ text, what }: { text: string; what: string }) {
  return (
    <vscode-button secondary className="copy" aria-label={`Copy ${what}`} onClick={() => send({ type: 'copy', text })}>
      Copy
    </vscode-button>
  );
}

function Header({ view }: { view: DetailsView }) {
  return (
    <header>
      <h1>{view.title ?? view.name}</h1>
      {view.title && <div className="name">{view.name}</div>}
      <div className="badges">
        <vscode-badge className="category" title="Category">{view.category.label}</vscode-badge>
        <vscode-badge className="trust" title="Trust score (0-100)">Trust {view.trust.score}</vscode-badge>
        {view.versions[0] && <vscode-badge className="version">{view.versions[0].version}</vscode-badge>}
        {view.stars !== undefined && <vscode-badge className="stars">★ {view.stars}</vscode-badge>}
        {view.license && <vscode-badge className="license">{view.license}</vscode-badge>}
      </div>
      {view.status !== 'active' && (
        <div className={`status status-${view.status}`} role="alert">
          {view.status === 'deleted' ? 'Deleted from the registry' : 'Deprecated'}
          {view.statusMessage ? `: ${view.statusMessage}` : ''}
        </div>
      )}
      <p className="description">{view.description}</p>
      {view.aliases.length > 0 && <p className="aliases">Also listed as {view.aliases.join(', ')}</p>}
      <div className="links">
        {view.repository && <Link link={view.repository} label="Repository" />}
        {view.website && <Link link={view.website} label="Website" />}
      </div>
    </header>
  );
}

function Actions({ view }: { view: DetailsView }) {
  if (!view.canAdd) return <p className="add-blocked">{view.addBlocked}</p>;
  return (
    <div className="actions">
      <vscode-button className="add-workspace" onClick={() => send({ type: 'addToWorkspace' })}>
        Add to Workspace
      </vscode-button>
      <vscode-button secondary className="add-profile" onClick={() => send({ type: 'addToUserProfile' })}>
        Add to User Profile
      </vscode-button>
      <vscode-button secondary className="introspect" title="Start the server in a scratch folder and list its tools, prompts and resources" onClick={() => send({ type: 'introspect' })}>
        {view.capabilities?.from === 'introspection' ? 'Introspect Again' : 'Introspect'}
      </vscode-button>
    </div>
  );
}

function Trust({ view }: { view: DetailsView }) {
  return (
    <vscode-collapsible heading={`Trust ${view.trust.score}/100`} open className="section-trust">
      <table className="factors">
        <tbody>
          {view.trust.factors.map((f) => (
            <tr key={f.id}>
              <td className={f.points < 0 ? 'points negative' : 'points'}>{f.points >= 0 ? `+${f.points}` : f.points}</td>
              <td>{f.reason}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </vscode-collapsible>
  );
}

function Recipe({ recipe }: { recipe: DetailsRecipe }) {
  if (!recipe.runnable)
    return (
      <li className="recipe not-runnable">
        <div className="recipe-label">{recipe.label}</div>
        <div className="problem">Cannot be run: {recipe.problem}</div>
      </li>
    );
  return (
    <li className="recipe">
      <div className="recipe-label">
        {recipe.label} <span className="transport">{recipe.transport}</span>
      </div>
      <div className="command">
        <code>{recipe.commandLine}</code>
        <CopyButton text={recipe.commandLine} what={recipe.label} />
      </div>
      {[...recipe.env.map((e) => `env ${e}`), ...recipe.headers.map((h) => `header ${h}`)].map((line) => (
        <div key={line} className="setting">
          <code>{line}</code>
        </div>
      ))}
      {recipe.inputs.map((i) => (
        <div key={i.id} className="input">
          Needs <code>{i.id}</code>
          {i.secret ? ' (secret)' : ''}
          {i.required ? '' : ' (optional)'}: {i.description}
        </div>
      ))}
      {recipe.notes.map((n) => (
        <div key={n} className="note">
          {n}
        </div>
      ))}
    </li>
  );
}

function Install({ view }: { view: DetailsView }) {
  return (
    <vscode-collapsible heading="Install" open className="section-install">
      {view.recipes.length === 0 ? <p>No package or remote is listed: see the repository.</p> : <ul className="recipes">{view.recipes.map((r, i) => <Recipe key={i} recipe={r} />)}</ul>}
    </vscode-collapsible>
  );
}

function Sources({ view }: { view: DetailsView }) {
  return (
    <vscode-collapsible heading={`Sources (${view.sources.length})`} open className="section-sources">
      <ul className="sources">
        {view.sources.map((s) => (
          <li key={`${s.source}:${s.name}`}>
            <span className="source">{s.source}</span> {s.name} {s.link && <Link link={s.link} label="open" />}
          </li>
        ))}
      </ul>
    </vscode-collapsible>
  );
}

function Versions({ view }: { view: DetailsView }) {
  return (
    <vscode-collapsible heading={`Versions (${view.versionCount})`} className="section-versions">
      <ul className="versions">
        {view.versions.map((v) => (
          <li key={`${v.listedAs ?? ''}@${v.version}`}>
            {v.version}
            {v.listedAs && <span className="listed-as"> as {v.listedAs}</span>}
            {v.latest && <vscode-badge className="latest">latest</vscode-badge>}
            {v.status !== 'active' && <span className="version-status"> {v.status}</span>}
            {v.publishedAt && <span className="published"> {v.publishedAt.slice(0, 10)}</span>}
          </li>
        ))}
      </ul>
      {view.versionCount > view.versions.length && <p className="more">… and {view.versionCount - view.versions.length} older</p>}
    </vscode-collapsible>
  );
}

function Summaries({ title, items }: { title: string; items: ToolSummary[] }) {
  if (items.length === 0) return null;
  return (
    <>
      <h3>{title}</h3>
      <ul className="tools">
        {items.map((t) => (
          <li key={t.name}>
            <code>{t.name}</code>
            {t.description && <span className="tool-description"> {t.description}</span>}
          </li>
        ))}
      </ul>
    </>
  );
}

function Capabilities({ view }: { view: DetailsView }) {
  const c = view.capabilities;
  const how = !c ? 'unknown until the server is introspected' : c.from === 'introspection' ? `introspected ${c.introspectedAt?.slice(0, 10) ?? ''}` : 'as a directory lists them';
  return (
    <vscode-collapsible heading="Capabilities" description={how} open={Boolean(c)} className="section-capabilities">
      {c ? (
        <>
          <Summaries title={`Tools (${c.tools.length})`} items={c.tools} />
          <Summaries title={`Prompts (${c.prompts.length})`} items={c.prompts} />
          <Summaries title={`Resources (${c.resources.length})`} items={c.resources} />
        </>
      ) : (
        <p>Tools are not known yet: Introspect starts the server in a scratch folder and lists them.</p>
      )}
    </vscode-collapsible>
  );
}

/** The whole panel. */
export function Details({ view }: { view: DetailsView }) {
  return (
    <main>
      <Header view={view} />
      <Actions view={view} />
      <Trust view={view} />
      <Install view={view} />
      <Sources view={view} />
      <Versions view={view} />
      <Capabilities view={view} />
      {view.usedIn.length > 0 && (
        <vscode-collapsible heading="Used in this workspace" open className="section-used">
          <ul>
            {view.usedIn.map((f) => (
              <li key={f}>{f}</li>
            ))}
          </ul>
        </vscode-collapsible>
      )}
    </main>
  );
}
