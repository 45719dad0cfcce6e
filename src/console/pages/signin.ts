import { BareLayout } from '../layout.ts';
import { html, Notice, type VNode } from '../html.ts';

export function SignIn({ next, error, notice }: { next: string; error?: string | undefined; notice?: string | undefined }): VNode {
  return html`<${BareLayout} title="Sign in">
    <${Notice} text=${error} kind="error" />
    <${Notice} text=${notice} />
    <form method="post" action="/console/login" class="signin">
      <input type="hidden" name="next" value=${next} />
      <label class="block">Admin token
        <input type="password" name="token" autocomplete="current-password" required autofocus />
      </label>
      <button type="submit">Sign in</button>
    </form>
    <p class="muted small">The token is <code>admin.token</code> in the config (<code>HOOKLINE_ADMIN_TOKEN</code>). The browser keeps a session cookie, not the token.</p>
  <//>`;
}

export function ErrorPage({ status, message }: { status: number; message: string }): VNode {
  return html`<${BareLayout} title=${status === 404 ? 'Not found' : `Error ${status}`}>
    <p>${message}</p>
    <p><a href="/console">Back to the console</a></p>
  <//>`;
}
