import assert from 'node:assert/strict';
import { argumentQuestions, parseAnswer } from '../../common/tool-input';

describe('asking for a tool\'s arguments', () => {
  it('asks for the schema\'s properties, required ones first, with their type, description and choices', () => {
    const questions = argumentQuestions({
      type: 'object',
      properties: { limit: { type: 'integer' }, query: { type: 'string', description: 'what to find' }, mode: { enum: ['fast', 'full'] } },
      required: ['query'],
    });
    assert.deepEqual(questions, [
      { name: 'query', type: 'string', required: true, description: 'what to find' },
      { name: 'limit', type: 'integer', required: false },
      { name: 'mode', type: 'string', required: false, choices: ['fast', 'full'] },
    ]);
    assert.deepEqual(argumentQuestions(undefined), []);
  });

  it('types each answer, or says what was expected', () => {
    assert.deepEqual(parseAnswer('42', 'integer'), { value: 42 });
    assert.deepEqual(parseAnswer('4.5', 'integer'), { error: 'a whole number is expected, not 4.5' });
    assert.deepEqual(parseAnswer('x', 'number'), { error: 'a number is expected, not "x"' });
    assert.deepEqual(parseAnswer(' TRUE ', 'boolean'), { value: true });
    assert.deepEqual(parseAnswer('["a"]', 'array'), { value: ['a'] });
    assert.deepEqual(parseAnswer('{"a":1}', 'array'), { error: 'a JSON list is expected, e.g. ["a", "b"]' });
    assert.deepEqual(parseAnswer('{', 'object'), { error: 'valid JSON is expected for an object' });
    assert.deepEqual(parseAnswer('hello', 'string'), { value: 'hello' });
  });
});
