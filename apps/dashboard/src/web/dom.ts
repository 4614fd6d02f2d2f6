/**
 * Building the page safely: text only ever goes in as text (textContent, attribute values), never
 * as HTML, so a file name cannot become markup whatever it holds.
 */

export interface Props {
  readonly className?: string;
  readonly text?: string;
  /** Attributes, set as values (setAttribute never parses them as markup). */
  readonly attrs?: Readonly<Record<string, string>>;
}

/** An element with its class, text and attributes. */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Props = {}, ...children: Node[]): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.className !== undefined) node.className = props.className;
  if (props.text !== undefined) node.textContent = props.text;
  for (const [name, value] of Object.entries(props.attrs ?? {})) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

/** An SVG element with its attributes. */
export function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Readonly<Record<string, string>> = {}): SVGElementTagNameMap[K] {
  const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  return node;
}

/** The element with this id; the page's HTML has every one the script asks for. */
export function byId<T extends HTMLElement | SVGElement = HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (node === null) throw new Error(`the page has no #${id}`);
  return node as unknown as T;
}

/** Sets an element's text when it changed (no needless layout work on each refresh). */
export function setText(node: Element, text: string): void {
  if (node.textContent !== text) node.textContent = text;
}

/** A progress bar of `pct` percent: a track and a bar, with its value for assistive technology. */
export function progressBar(pct: number): HTMLElement {
  const bar = el('div', { className: 'bar' });
  const track = el('div', { className: 'progress', attrs: { role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100' } }, bar);
  setProgress(track, pct);
  return track;
}

export function setProgress(track: HTMLElement, pct: number): void {
  track.setAttribute('aria-valuenow', String(pct));
  const bar = track.firstElementChild;
  // a CSSOM property, not a style attribute: the Content-Security-Policy allows it either way
  if (bar instanceof HTMLElement) bar.style.width = `${pct}%`;
}
