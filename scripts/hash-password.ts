// Why: operators create HOTPATH_AUTH_PASSWORDS_FILE entries without ever writing a password to disk:
// `npm run hash-password -- alice` reads the password from stdin and prints the JSON record.
import { hashPassword } from '../src/shared/passwords.ts';

const user = process.argv[2];
if (!user) {
  process.stderr.write('usage: npm run hash-password -- USER   (password on stdin)\n');
  process.exit(2);
}
let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (c) => (input += c));
process.stdin.on('end', () => {
  const password = input.replace(/\r?\n$/, '');
  if (password.length === 0) {
    process.stderr.write('hash-password: empty password on stdin\n');
    process.exit(2);
  }
  process.stdout.write(`${JSON.stringify({ user, password: hashPassword(password) })}\n`);
});
