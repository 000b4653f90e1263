/**
 * Credentials never reach a log line or an error message: a URL's password (`mqtt://user:***@host`)
 * and the credential parameters of a query string (InfluxDB 1.x `p=`, `password=`, `token=`).
 */

/** `scheme://user:password@` anywhere in the text; the user name stays, it says which account. */
const userInfoPassword = /\b([a-z][a-z0-9+.-]*:\/\/[^\s:/@?#]*):[^\s/?#]*@/gi;
const secretParameter = /([?&](?:p|password|token)=)[^&#\s]*/gi;

/** The text with every URL password and secret query parameter replaced by `***`. */
export function redactCredentials(text: string): string {
  return text.replace(userInfoPassword, '$1:***@').replace(secretParameter, '$1***');
}
