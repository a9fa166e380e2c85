import { completeLine } from './chat-completer.js';

const sources = {
  commands: ['new', 'model', 'persona', 'file', 'history'],
  models: () => ['colloquy/echo', 'luminary/socrates', 'luminary/sun_tzu'],
  listDir: (dir: string) => (dir === 'docs/' ? ['report.pdf', 'report.docx', 'notes/', '.hidden'] : dir === '.' ? ['docs/', 'README.md'] : []),
};

describe('completeLine', () => {
  it('completes command names', () => {
    expect(completeLine('/m', sources)).toEqual([['/model '], '/m']);
    expect(completeLine('/', sources)[0]).toHaveLength(5);
  });

  it('completes model and persona ids', () => {
    expect(completeLine('/persona luminary/s', sources)).toEqual([['luminary/socrates', 'luminary/sun_tzu'], 'luminary/s']);
  });

  it('completes paths after /file, hiding dotfiles unless asked', () => {
    expect(completeLine('/file docs/rep', sources)).toEqual([['docs/report.pdf', 'docs/report.docx'], 'docs/rep']);
    expect(completeLine('/file docs/', sources)[0]).toEqual(['docs/report.pdf', 'docs/report.docx', 'docs/notes/']);
    expect(completeLine('/file do', sources)).toEqual([['docs/'], 'do']);
  });

  it('leaves plain messages alone', () => {
    expect(completeLine('hello /m', sources)).toEqual([[], 'hello /m']);
  });
});
