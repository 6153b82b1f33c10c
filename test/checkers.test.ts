// The checkers the hostile-input tests rely on must be able to fail: each
// refuses what it is there to catch, and passes what is fine. A checker that
// passed everything would make every property and campaign vacuous.
import t from 'tap';
import {
  type Answer,
  FILE_PATH,
  INTERNAL,
  METHOD_NOT_ALLOWED,
  NOT_FOUND,
  problems,
  STACK_FRAME,
} from './helpers/answers.ts';

t.test('the answer checker refuses what it must, whatever the request', async (t) => {
  const error = (code: number, message: string) => JSON.stringify({ _status: 'ERR', _error: { code, message } });
  const good: Answer = {
    status: 400,
    headers: { 'x-ecadraft-version': 'v1', 'content-type': 'application/json' },
    body: error(400, 'bad'),
  };
  t.same(problems(good, 'v1', 'GET'), [], 'a proper error passes');
  t.same(problems({ ...good, status: 404, body: error(404, NOT_FOUND) }, 'v1', 'GET'), [], 'a proper 404 passes');
  const bad: Record<string, [Answer, string?]> = {
    'a 500 even in Eve shape': [{ ...good, status: 500, body: error(500, 'x') }],
    'a 503': [{ ...good, status: 503, body: error(503, 'x') }],
    'the other version': [{ ...good, headers: { ...good.headers, 'x-ecadraft-version': 'v2' } }],
    'no version header': [{ ...good, headers: { 'content-type': 'application/json' } }],
    'code other than the status': [{ ...good, body: error(422, 'x') }],
    'code as a string': [{ ...good, body: '{"_status":"ERR","_error":{"code":"400","message":"x"}}' }],
    'an extra key': [{ ...good, body: '{"_status":"ERR","_error":{"code":400,"message":"x"},"detail":1}' }],
    'an empty message': [{ ...good, body: error(400, ' ') }],
    "Fastify's own error shape": [{ ...good, body: '{"statusCode":400,"error":"Bad Request","message":"x"}' }],
    'a body that is not JSON': [{ ...good, body: 'Bad Request' }],
    'an HTML error page': [{ ...good, headers: { ...good.headers, 'content-type': 'text/html' } }],
    'a 404 in other words': [{ ...good, status: 404, body: error(404, 'Not Found') }],
    'a 405 in other words': [
      { ...good, status: 405, headers: { ...good.headers, allow: 'GET' }, body: error(405, 'Method Not Allowed') },
    ],
    'a 405 without Allow': [{ ...good, status: 405, body: error(405, METHOD_NOT_ALLOWED) }],
    'a stack trace': [{ ...good, body: error(400, 'x\n    at parse (file:///app/dist/where.js:10:5)') }],
    'a file path': [{ ...good, body: error(400, "ENOENT: open '/work/main/x'") }],
    node_modules: [{ ...good, body: error(400, 'in node_modules') }],
    'an error class name': [{ ...good, body: error(400, 'SyntaxError: Unexpected token') }],
    'a HEAD answer with a body': [{ ...good }, 'HEAD'],
    'a 200 labelled JSON that is not': [{ ...good, status: 200, body: '{"_items": [' }],
  };
  for (const [name, [answer, method = 'GET']] of Object.entries(bad)) {
    t.not(problems(answer, 'v1', method).length, 0, name);
  }
});

t.test('the leak detectors catch what they must', async (t) => {
  const leaky = [
    "TypeError: Cannot read properties of undefined (reading 'status')",
    '    at parseWhere (file:///app/dist/where.js:60:14)',
    "ENOENT: no such file or directory, open '/app/package.json'",
    'FST_ERR_CTP_INVALID_MEDIA_TYPE',
    'Maximum call stack size exceeded',
    'failed in /app/dist/query.js',
    'Parse Error: HPE_INVALID_METHOD',
  ];
  for (const text of leaky) t.ok(STACK_FRAME.test(text) || FILE_PATH.test(text) || INTERNAL.test(text), text);
  const clean = [
    '{"_status":"ERR","_error":{"code":400,"message":"Unable to parse `where` clause: Unexpected end of JSON input"}}',
    '{"_status":"ERR","_error":{"code":414,"message":"The request URL is longer than 16384 characters."}}',
  ];
  for (const text of clean) t.notOk(STACK_FRAME.test(text) || FILE_PATH.test(text) || INTERNAL.test(text), text);
});
